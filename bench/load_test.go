//go:build linux

package bench

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The app's load while a purge runs: clients each sending one request
// every 1/engine.rate seconds, as a web app's sessions do, whatever the
// database's speed.
const (
	clients  = 8
	getShare = 0.8 // the rest are sets
)

// loadResult is what the clients saw during one phase.
type loadResult struct {
	ops, errors int
	firstError  error
	// unsent counts the requests due in the phase that a client never
	// sent, still waiting for its request before.
	unsent int
	// latency of each request from when it was due, so that a request
	// held up behind a lock also delays the ones due after it (no
	// coordinated omission).
	latency []time.Duration
	// service is each request's own time, from when it was sent.
	service []time.Duration
}

func (r loadResult) percentile(q float64) time.Duration { return percentile(r.latency, q) }

// percentile is the q-quantile of sorted ds, nearest rank.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(float64(len(ds))*q+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// runLoad runs the clients on table against live rows until stop is
// closed, and returns what they saw. *end, set before stop is closed, is
// when the phase ended: requests due before it that a client could not
// send, held up behind one in flight, count as late by end - due.
func runLoad(db *sql.DB, e engine, table string, live []string, seed uint64, stop <-chan struct{}, end *time.Time) loadResult {
	var mu sync.Mutex
	var all loadResult
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(c)))
			value := make([]byte, 2000)
			var mine loadResult
			interval := time.Second / time.Duration(e.rate)
			// Clients start spread over one interval, not in step.
			due := time.Now().Add(time.Duration(rng.Int64N(int64(interval))))
			defer func() {
				for ; due.Before(*end); due = due.Add(interval) {
					mine.latency = append(mine.latency, end.Sub(due))
					mine.unsent++
				}
				mu.Lock()
				all.unsent += mine.unsent
				all.ops += mine.ops
				all.errors += mine.errors
				if all.firstError == nil {
					all.firstError = mine.firstError
				}
				all.latency = append(all.latency, mine.latency...)
				all.service = append(all.service, mine.service...)
				mu.Unlock()
			}()
			timer := time.NewTimer(0)
			<-timer.C
			for {
				select {
				case <-stop:
					return
				default:
				}
				if wait := time.Until(due); wait > 0 {
					timer.Reset(wait)
					select {
					case <-stop:
						return
					case <-timer.C:
					}
				}
				start := time.Now()
				id := live[rng.IntN(len(live))]
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				var err error
				if rng.Float64() < getShare {
					err = e.get(ctx, db, table, id, time.Now())
				} else {
					v := value[:200+rng.IntN(1801)]
					fillRandom(rng, v)
					err = e.set(ctx, db, table, id, v, time.Now(), sliding)
				}
				cancel()
				mine.latency = append(mine.latency, time.Since(due))
				mine.service = append(mine.service, time.Since(start))
				mine.ops++
				if err != nil {
					mine.errors++
					if mine.firstError == nil {
						mine.firstError = err
					}
				}
				due = due.Add(interval)
			}
		}()
	}
	wg.Wait()
	slices.Sort(all.latency)
	slices.Sort(all.service)
	return all
}

// during runs the clients on table while fn runs, after a second of
// warming up (new connections, statements prepared for this table) that
// is not measured.
func during(db *sql.DB, e engine, table string, live []string, seed uint64, fn func()) loadResult {
	warm := make(chan struct{})
	var warmEnd, end time.Time
	go func() { time.Sleep(time.Second); warmEnd = time.Now(); close(warm) }()
	runLoad(db, e, table, live, seed^0x5eed, warm, &warmEnd)

	stop := make(chan struct{})
	done := make(chan loadResult)
	go func() { done <- runLoad(db, e, table, live, seed, stop, &end) }()
	fn()
	end = time.Now()
	close(stop)
	return <-done
}

// fillRandom fills b with incompressible bytes, as the encrypted payload
// of an ASP.NET Core session is.
func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}
