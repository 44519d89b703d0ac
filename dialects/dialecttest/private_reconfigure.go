package dialecttest

import "testing"

// Reconfigure stops p as Stop does and starts it again with args after
// its own server options, where a later option wins (PostgreSQL:
// "-c", "shared_buffers=128MB"; MariaDB: "--innodb-buffer-pool-size=128M"):
// the benchmark sizes a private server's buffers as the shared servers'
// are. A restart breaks p's connections: open others after it.
func (p *Private) Reconfigure(t testing.TB, args ...string) {
	t.Helper()
	p.Stop(t)
	p.argv = append(p.argv, args...)
	p.Start(t)
}
