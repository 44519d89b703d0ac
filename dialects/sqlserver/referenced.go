package sqlserver

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/sessctl/sessctl/dialects"
)

var _ dialects.Referencer = Dialect{}

// Referenced: SQL Server names the constraint in its message (The DELETE
// statement conflicted with the REFERENCE constraint "fk". …), and purge
// cannot yet pass over such rows there: it says which.
func (Dialect) Referenced(err error) (string, bool) {
	var me mssql.Error
	var mp *mssql.Error
	switch {
	case errors.As(err, &me):
	case errors.As(err, &mp) && mp != nil:
		me = *mp
	default:
		return "", false
	}
	if me.Number != referenceConflict || !strings.Contains(me.Message, "REFERENCE") {
		return "", false
	}
	if name, ok := quotedAfter(me.Message, "constraint "); ok {
		return strconv.Quote(name), true
	}
	return "", true
}

// quotedAfter is the "…" that follows word in msg.
func quotedAfter(msg, word string) (string, bool) {
	i := strings.Index(msg, word+`"`)
	if i < 0 {
		return "", false
	}
	rest := msg[i+len(word)+1:]
	j := strings.Index(rest, `"`)
	if j < 0 {
		return "", false
	}
	return rest[:j], true
}

var _ dialects.IDDeleter = Dialect{}

// jsonIDs is a list of Ids as one parameter: a JSON array, which
// OPENJSON reads on SQL Server 2016 and later and on Babelfish, so that a
// batch of up to maxBatch Ids stays one statement (SQL Server
// takes at most 2,100 parameters).
func jsonIDs(ids []string) (string, error) {
	b, err := json.Marshal(dialects.NonNil(ids))
	return string(b), err
}

// inIDs is "in the list @p1", compared as [Id]'s own collation
// compares (the column's collation wins over OPENJSON's default one).
const inIDs = "[Id] IN (SELECT [value] FROM OPENJSON(@p1))"

// ExpiredIDs reads past rows an app session holds (READPAST; Babelfish
// ignores the hint but its reads wait for no lock).
func (s Dialect) ExpiredIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, limit int, skip []string) ([]string, error) {
	list, err := jsonIDs(skip)
	if err != nil {
		return nil, err
	}
	c := colsOf(n)
	sec, us := c.args(grace)
	return dialects.ScanIDs(q.QueryContext(ctx, c.in(`SELECT TOP (@p4) [Id] FROM `+tableMark+` WITH (READPAST)
WHERE [ExpiresAtTime] < `+c.cutoff("@p2", "@p3")+` AND NOT `+inIDs+`
ORDER BY `+purgeOrder+`;`, s.qualified(n)), list, sec, us, int64(limit)))
}

// DeleteIDs is one DELETE, which SQL Server runs whole or not at all, with
// the batch's hints and prelude (DeleteExpired): an app's row is passed over
// (READPAST), or waited for at most the lock timeout.
func (s Dialect) DeleteIDs(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) (int64, error) {
	list, err := jsonIDs(ids)
	if err != nil {
		return 0, err
	}
	c := colsOf(n)
	sec, us := c.args(grace)
	res, err := q.ExecContext(ctx, prelude+c.in(`DELETE FROM `+tableMark+` WITH (ROWLOCK, READPAST)
WHERE `+inIDs+` AND [ExpiresAtTime] < `+c.cutoff("@p2", "@p3")+`;`, s.qualified(n)), list, sec, us)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s Dialect) StillExpired(ctx context.Context, q dialects.Querier, n dialects.Names, grace time.Duration, ids []string) ([]string, error) {
	list, err := jsonIDs(ids)
	if err != nil {
		return nil, err
	}
	c := colsOf(n)
	sec, us := c.args(grace)
	return dialects.ScanIDs(q.QueryContext(ctx, c.in(`SELECT [Id] FROM `+tableMark+` WITH (READPAST)
WHERE `+inIDs+` AND [ExpiresAtTime] < `+c.cutoff("@p2", "@p3")+`;`, s.qualified(n)), list, sec, us))
}
