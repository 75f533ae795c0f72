package poller

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/pghash"
	"github.com/tandem-oss/tandem/source"
)

// readTx is a poll's read-only transaction. On PostgreSQL it runs on a connection of its own,
// whose rows are read through pgx directly (source.NativeQuerier): database/sql boxes every value
// into a driver.Value before the scanner sees it, an allocation per value, which at a million
// leads was a third of the cold start's CPU (9M rows). Everything else (sqlx's Get, Exec,
// Rebind) is the transaction's.
type readTx struct {
	*sqlx.Tx
	conn *sqlx.Conn // nil: no native reads (SQLite)
}

// beginRead begins a read-only transaction with opts on a connection of db's pool: on one of its
// own when the driver is pgx's, so that its reads can go native.
func beginRead(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions) (*readTx, error) {
	if _, ok := db.Driver().(*stdlib.Driver); !ok {
		tx, err := db.BeginTxx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &readTx{Tx: tx}, nil
	}
	conn, err := db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTxx(ctx, opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &readTx{Tx: tx, conn: conn}, nil
}

// readSettings is what a poll's PostgreSQL transaction sets for itself, as one statement:
//   - statement_timeout: the server cancels a query that outlives query_timeout even if this
//     process cannot (network partition); the context cancels it from this side too.
//   - jit off: Tandem's whole-table queries (the reconciliation's digest sums, a small table
//     read whole) are scans whose plans cost enough to pass jit_above_cost, and compiling them
//     cost more than it saved. At a million leads the reconciliation's digest query over 5M
//     activities spent 690 ms of its 1.19 s in JIT compilation (inlining and optimisation, once
//     per parallel worker). A cold start's range reads cost too little to be compiled (a round
//     of 16,384 leads' activities: 51,547 against the default 100,000). Where the
//     server has no jit setting (before PostgreSQL 11), current_setting(.., true) is NULL and
//     the CASE skips it.
func readSettings(timeout time.Duration) string {
	return fmt.Sprintf("SELECT set_config('statement_timeout', '%d', true), "+
		"CASE WHEN current_setting('jit', true) IS NOT NULL THEN set_config('jit', 'off', true) END", timeout.Milliseconds())
}

// Rollback ends the transaction and gives its connection back to the pool.
func (t *readTx) Rollback() error {
	err := t.Tx.Rollback()
	if t.conn != nil {
		t.conn.Close() //nolint:errcheck // back to the pool; a broken one is dropped by database/sql
		t.conn = nil
	}
	return err
}

// QueryNative runs query in the transaction through pgx's own rows (source.NativeQuerier);
// through database/sql's without a pgx connection.
func (t *readTx) QueryNative(ctx context.Context, query string, args []any, fn func(source.Rows) error) error {
	if t.conn == nil {
		return source.SQLRows(ctx, t.Tx, query, args, fn)
	}
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("native read: the connection is a %T, not pgx's", dc)
		}
		rows, err := c.Conn().Query(ctx, query, append([]any{source.ResultFormats}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return fn(&pgxRows{Rows: rows})
	})
}

// pgxRows are pgx's rows as source.Rows, which can digest each row as PostgreSQL's hash_record
// would (source.RowDigester), from the values as they came over the wire.
type pgxRows struct {
	pgx.Rows
	record pghash.Record // the rows' hash_record, made at the first row digested
	bad    bool          // a column's type or format that pghash does not hash
}

func (r *pgxRows) Columns() ([]string, error) {
	fds := r.FieldDescriptions()
	names := make([]string, len(fds))
	for i, f := range fds {
		names[i] = f.Name
	}
	return names, nil
}

// sumPlanner is how the reconciliation's digest sums are planned, set for their statements only
// (sumsPlanned). PostgreSQL cannot know that "lead_id >> shift" has a few hundred values: it
// takes the lead_id's own distinct count (a million groups at a million leads), finds such a
// hash table too big for work_mem, and sorts every row instead, to disk, serially where the
// table is small enough (the touchpoints). With sorts off and parallel plans costed as free,
// it hashes the groups on every core: at a million leads, the leads' sums took 0.61 s instead
// of 0.93-1.0 s and the touchpoints' 0.98-1.13 s instead of 1.6-2.1 s (EXPLAIN ANALYZE,
// max_parallel_workers_per_gather 2). A custom query's own joins may be planned otherwise under
// these settings, never wrongly; the server's max_parallel_workers_per_gather still rules.
//
// Every sum is planned for its own parameters (plan_cache_mode, PostgreSQL 12 and later): the
// dirty leads it leaves out are an array parameter, which PostgreSQL hashes only when it knows
// its values. A statement is cached on its connection, and after five runs the server may
// switch to a generic plan, which compares each row with every element: 7.9 s instead of
// 0.65 s for 5M activities and 1,000 dirty leads.
var sumPlanner = [][2]string{{"enable_sort", "off"}, {"parallel_setup_cost", "0"}, {"parallel_tuple_cost", "0"},
	{"plan_cache_mode", "force_custom_plan"}}

// sumsPlanned runs fn, the digest sums of a reconciliation, under sumPlanner, and gives the
// transaction its own settings back after it (those of the poll's other reads). A setting the
// server does not have is left alone.
func sumsPlanned(ctx context.Context, tx *readTx, fn func() error) error {
	var names, old, want []string
	for _, s := range sumPlanner {
		var v sql.NullString
		if err := tx.GetContext(ctx, &v, "SELECT current_setting($1, true)", s[0]); err != nil {
			return err
		}
		if v.Valid {
			names, old, want = append(names, s[0]), append(old, v.String), append(want, s[1])
		}
	}
	set := func(values []string) error {
		for i, name := range names {
			if _, err := tx.ExecContext(ctx, "SELECT set_config($1, $2, true)", name, values[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := set(want); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return set(old)
}

// behindSavepoint runs fn behind a savepoint of the transaction: when fn fails, the transaction
// is rolled back to it and stays usable for the poll's other reads.
func (t *readTx) behindSavepoint(ctx context.Context, name string, fn func() error) error {
	if _, err := t.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	err := fn()
	undo := []string{"RELEASE SAVEPOINT " + name}
	if err != nil {
		undo = append([]string{"ROLLBACK TO SAVEPOINT " + name}, undo...)
	}
	for _, q := range undo {
		if _, uerr := t.ExecContext(ctx, q); uerr != nil {
			return errors.Join(err, uerr)
		}
	}
	return err
}

// RowDigest is the current row's hash_record (source.RowDigester).
func (r *pgxRows) RowDigest() (int64, bool) {
	if r.record == nil && !r.bad {
		var ok bool
		r.record, _, ok = pghash.RecordOf(r.FieldDescriptions())
		r.bad = !ok
	}
	if r.bad {
		return 0, false
	}
	return r.record.Digest(r.RawValues())
}

// digestSample is how many rows of a query chooseDigests compares its digests on.
const digestSample = 256

// ownDigests reports whether the poll can digest text's rows itself (pgxRows.RowDigest) rather
// than ask PostgreSQL for each row's hash_record: whether, on a sample of its rows, every
// digest it computes equals the server's. A server whose text hashes otherwise (an encoding
// other than the wire's UTF-8, a non-deterministic collation, a big-endian machine) or a column
// type pghash does not cover fails; why says how. sampled is 0 when text has no row yet to
// compare on. The sample runs behind a savepoint: a failure leaves the transaction usable.
func (t *readTx) ownDigests(ctx context.Context, text string) (ok bool, sampled int, why string, err error) {
	if t.conn == nil {
		return false, 0, "not a native connection", nil
	}
	err = t.behindSavepoint(ctx, "tandem_digest_sample", func() error {
		return t.QueryNative(ctx, source.DigestSample(text, digestSample), nil, func(rows source.Rows) error {
			pr := rows.(*pgxRows)
			if enc := pr.Conn().PgConn().ParameterStatus("server_encoding"); enc != "UTF8" && enc != "SQL_ASCII" {
				why = "server encoding " + enc
				return nil
			}
			rec, _, ok := pghash.RecordOf(pr.FieldDescriptions()[1:])
			if !ok {
				why = "a column's type is not hashed by Tandem"
				return nil
			}
			for pr.Next() {
				raw := pr.RawValues()
				if len(raw[0]) != 8 { // the server's digest: an int8, in binary (source.ResultFormats)
					return fmt.Errorf("digest sample: a digest of %d bytes", len(raw[0]))
				}
				want := int64(binary.BigEndian.Uint64(raw[0]))
				sampled++
				if got, ok := rec.Digest(raw[1:]); !ok || got != want {
					why = fmt.Sprintf("a row's digest differs from the server's (%d, server %d)", got, want)
					return nil
				}
			}
			return pr.Err()
		})
	})
	if err != nil {
		return false, 0, "", err
	}
	return why == "" && sampled > 0, sampled, why, nil
}
