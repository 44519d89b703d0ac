package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sessctl/sessctl/dialects"
)

// ExplainPurge shows the estimated plan, and never deletes a row. SET
// SHOWPLAN_TEXT must be alone in its batch and holds for the session, and
// a statement sent with parameters goes through sp_executesql, whose plan
// it would not show; so it turns SHOWPLAN_TEXT on, sends the batch with the
// numbers written into it (they are sessctl's own, not input), and turns it
// off, all on one session. Babelfish ignores SHOWPLAN_TEXT and would run
// the DELETE (tds/README.md, "SET SHOWPLAN_TEXT ON"): there it is
// BABELFISH_SHOWPLAN_ALL, which explains without running. And whatever an
// engine does with either, all of it runs inside a transaction that is
// always rolled back, so that a SET an engine ignores cannot make a dry run
// delete. SHOWPLAN needs the SHOWPLAN permission: without it, the plan says
// so.
func (s Dialect) ExplainPurge(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int) (string, error) {
	session, release, err := oneSession(ctx, q)
	if err != nil {
		return "", err
	}
	defer release()
	showplan := "SHOWPLAN_TEXT"
	cat, err := catalogOf(ctx, session)
	if err != nil {
		return "", err
	}
	if cat.engine.Babelfish {
		showplan = "BABELFISH_SHOWPLAN_ALL"
		// Its plan names indexes by PostgreSQL's names for them: read
		// them back as verify does (catalog.index).
		if _, _, _, err := cat.object(ctx, session, n.Schema, n.Table); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	undo, err := rolledBack(ctx, session)
	if err != nil {
		return "", err
	}
	defer undo()
	if _, err := session.ExecContext(ctx, "SET "+showplan+" ON"); err != nil {
		return "", err
	}
	// The plan, not this, is the result; a session that failed here is
	// rolled back and discarded by the caller's transaction.
	defer func() { _, _ = session.ExecContext(context.WithoutCancel(ctx), "SET "+showplan+" OFF") }()
	rows, err := session.QueryContext(ctx, s.deleteScript(n, grace, min(limit, maxBatch)))
	if err != nil {
		if errorNumber(err) == showplanDenied {
			return "(no plan: this user lacks the SHOWPLAN permission; GRANT SHOWPLAN TO it to see one)", nil
		}
		return "", err
	}
	defer rows.Close()
	plan, err := planLines(rows)
	if err != nil {
		return "", err
	}
	text := strings.Join(plan, "\n")
	if cat.engine.Babelfish && cat.table != "" {
		text = bbfStoredIndexName.ReplaceAllStringFunc(text, func(w string) string { return cat.index(w, n) })
	}
	return text, nil
}

// planLines reads the plan from every result set of rows: SHOWPLAN_TEXT's
// operator lines (|--), or, where there are none, every line.
func planLines(rows *sql.Rows) ([]string, error) {
	var all, plan []string
	echo := false
	for {
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return nil, err
			}
			// Babelfish echoes each statement, a row a line, before its
			// plan, whose first line gives the cost; and ends with its
			// parse time.
			switch {
			case strings.HasPrefix(line, "Query Text:"):
				echo = true
			case strings.HasPrefix(line, "Babelfish T-SQL Batch Parsing Time"):
				continue
			case echo && strings.Contains(line, "(cost="):
				echo = false
			}
			if echo {
				continue
			}
			for _, l := range strings.Split(strings.TrimRight(line, "\r\n"), "\n") {
				l = strings.TrimRight(l, " \r")
				all = append(all, l)
				if strings.Contains(l, "|--") {
					plan = append(plan, l)
				}
			}
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(plan) == 0 {
		return all, nil
	}
	return plan, nil
}

// bbfStoredIndexName matches a name Babelfish may store an index under
// (bbfIndexName: it ends in an MD5 in hex).
var bbfStoredIndexName = regexp.MustCompile(`[\pL\pN_$#@]+[0-9a-f]{32}`)

// rolledBack begins a transaction on session (a savepoint inside
// one already open) and returns what rolls it back.
func rolledBack(ctx context.Context, session dialects.Querier) (func(), error) {
	back := context.WithoutCancel(ctx)
	if _, ok := session.(*sql.Tx); ok {
		if _, err := session.ExecContext(ctx, "SAVE TRANSACTION sessctl_explain"); err != nil {
			return nil, err
		}
		return func() { _, _ = session.ExecContext(back, "ROLLBACK TRANSACTION sessctl_explain") }, nil
	}
	if _, err := session.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	return func() { _, _ = session.ExecContext(back, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION") }, nil
}

// oneSession returns one session of q, for SET options that must
// hold across batches.
func oneSession(ctx context.Context, q dialects.Querier) (dialects.Querier, func(), error) {
	switch v := q.(type) {
	case *sql.Conn, *sql.Tx:
		return v, func() {}, nil
	case *sql.DB:
		conn, err := v.Conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		return conn, func() { conn.Close() }, nil
	}
	return nil, nil, fmt.Errorf("explaining a purge needs one session, not a %T", q)
}

// deleteScript is one purge batch with its numbers written in.
func (s Dialect) deleteScript(n dialects.Names, grace time.Duration, limit int) string {
	c := colsOf(n)
	sec, us := c.args(grace)
	return prelude + fmt.Sprintf(c.of(deleteSQL), s.qualified(n), strconv.Itoa(limit),
		c.cutoff(strconv.Itoa(int(sec)), strconv.Itoa(int(us))), "", c.of(purgeOrder))
}

// PurgeScript: on SQL Server each batch's plan is (SHOWPLAN_TEXT)
//
//	|--Clustered Index Delete(OBJECT:([T].[PK__…]), OBJECT:([T].[Index_ExpiresAtTime]))
//	     |--Nested Loops(Inner Join, OUTER REFERENCES:([Id]))
//	          |--Top(TOP EXPRESSION:((1000)))
//	          |    |--Index Seek(OBJECT:([T].[Index_ExpiresAtTime]), SEEK:([ExpiresAtTime] < …) ORDERED FORWARD)
//	          |--Clustered Index Seek(OBJECT:([T].[PK__…]), SEEK:([Id]=[Id]), WHERE:([ExpiresAtTime] < …) ORDERED FORWARD)
//
// a seek on the expiry index for the oldest rows, and a seek by key for
// each, which re-checks its expiry (the shape expected from the optimizer's
// rules: no SQL Server runs here to capture it; the dry run shows the real
// one).
func (s Dialect) PurgeScript(n dialects.Names, grace time.Duration, limit int) string {
	limit = min(limit, maxBatch)
	c := colsOf(n)
	sec, us := c.args(grace)
	del := fmt.Sprintf(c.of(deleteSQL), s.qualified(n), strconv.Itoa(limit),
		c.cutoff(strconv.Itoa(int(sec)), strconv.Itoa(int(us))), "", c.of(purgeOrder))
	return fmt.Sprintf(c.named(`-- Deletes the rows of %[1]s that expired over %[2]s ago, %[3]d at a time
-- (at most %[4]d, under the 5,000 locks at which SQL Server locks the whole
-- table), oldest first, each batch its own transaction, at low deadlock
-- priority, passing over rows an app session holds (READPAST). Run it in
-- sqlcmd or SSMS, outside a transaction. Each batch's plan on SQL Server:
--   Clustered Index Delete (the table and its Index_ExpiresAtTime)
--     Nested Loops (Inner Join)
--       Top (%[3]d)
--         Index Seek on the ExpiresAtTime index, ORDERED FORWARD
--       Clustered Index Seek on the primary key, WHERE ExpiresAtTime < the cutoff
SET NOCOUNT ON;
SET DEADLOCK_PRIORITY LOW;
DECLARE @deleted int = %[3]d;
WHILE @deleted = %[3]d
BEGIN
    %[5]s
    SET @deleted = @@ROWCOUNT;
END;
GO
`), s.qualified(n), grace, limit, maxBatch, strings.ReplaceAll(del, "\n", "\n    "))
}
