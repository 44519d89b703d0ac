package dialecttest

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// StartPostgresStandby starts a hot standby of primary (a private
// PostgreSQL server, whose default wal_level=replica and max_wal_senders
// let it stream): pg_basebackup -R of it into a folder of its own, on a
// port of its own, streaming from the primary's unix socket, where initdb
// trusts replication connections. Its DSN logs in as the primary's does.
func StartPostgresStandby(t testing.TB, primary *Private, opts PostgresOptions) *Private {
	t.Helper()
	bin := postgresBin()
	p := newPrivate(t, "postgres", "sessctl-pgr-", primary.cred)
	data := filepath.Join(p.dir, "data")
	backup := p.command(filepath.Join(bin, "pg_basebackup"), "-D", data, "-R", "-X", "stream", "--no-sync",
		"-h", primary.dir, "-p", fmt.Sprint(primary.port), "-U", "postgres")
	if out, err := backup.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup of the private primary: %v\n%s", err, out)
	}
	p.setPostgres(bin, data, opts.Password)
	p.Start(t)
	return p
}

// StartMariaDBPrimary starts a private MariaDB server as StartMariaDB
// does, with a binary log for replicas to read, as server 1.
func StartMariaDBPrimary(t testing.TB) *Private {
	t.Helper()
	p := startMariaDB(t, "--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW")
	return p
}

// StartMariaDBReplica starts a private MariaDB server replicating
// primary (StartMariaDBPrimary's), as server 2, from the primary's binary
// log as it is now: what was written before, such as the primary's own
// set-up, it has already.
func StartMariaDBReplica(t testing.TB, primary *Private) *Private {
	t.Helper()
	var file string
	var pos int64
	var ignore1, ignore2 any
	if err := primary.Admin(t).QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore1, &ignore2); err != nil {
		t.Fatalf("SHOW MASTER STATUS on the private primary: %v", err)
	}
	p := startMariaDB(t, "--server-id=2") // its relay log in its own folder
	db := p.Admin(t)
	for _, q := range []string{
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='root', MASTER_PASSWORD='', "+
			"MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d, MASTER_USE_GTID=no, MASTER_CONNECT_RETRY=1", primary.port, file, pos),
		"START SLAVE",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("setting up the private replica: %s: %v", q, err)
		}
	}
	deadline := time.Now().Add(readyWithin)
	for {
		var running string
		err := db.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'").Scan(&running)
		if err == nil && running == "ON" {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private replica did not start replicating within %s (Slave_running %q, %v)\n%s", readyWithin, running, err, p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
