package schema

import "time"

// DefaultBatchTime is how long an adaptive batch aims to take: short enough
// that the app never waits long for a row a batch holds, and that replicas
// replay each batch at once; long enough that the round trip and commit of
// each batch cost little next to its work.
const DefaultBatchTime = 100 * time.Millisecond

// DefaultBatchSize is the size of the first adaptive batch, and the batch
// size of a printed purge script.
const DefaultBatchSize = 1000

// Bounds on how far one adaptive batch may change the next one's size.
// Growth is slow, so one fast batch on warm pages cannot make the next one
// run long; shrinking is faster, because a batch that ran long is the one
// thing the app notices.
const (
	maxGrowth = 2
	maxShrink = 4
)

// nextBatchSize sizes the batch after one that was asked for size rows,
// deleted rows and took took, so that the next takes about target: the
// rate that batch measured times target, moved from size by at most a
// factor of maxGrowth up or maxShrink down, at least 1 and, when ceiling is
// above 0, at most ceiling. A batch that took no measurable time grows by
// maxGrowth.
func nextBatchSize(size int, rows int64, took, target time.Duration, ceiling int) int {
	want := float64(size) * maxGrowth
	if took > 0 && rows > 0 {
		want = float64(rows) * float64(target) / float64(took)
	}
	next := int(min(max(want, float64(size)/maxShrink), float64(size)*maxGrowth))
	if ceiling > 0 {
		next = min(next, ceiling)
	}
	return max(next, 1)
}

// firstBatchSize is the size of the first adaptive batch.
func firstBatchSize(ceiling int) int {
	if ceiling > 0 {
		return min(DefaultBatchSize, ceiling)
	}
	return DefaultBatchSize
}
