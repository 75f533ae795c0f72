package poller

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/strictmain"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// TestNativeReadsDecodeAsDatabaseSQL reads the same rows, of every column type a synced CRM
// may hand over, through database/sql and natively through pgx (readTx), and wants the same
// decoded rows, digests, skipped rows and checks from both.
func TestNativeReadsDecodeAsDatabaseSQL(t *testing.T) {
	pc, err := pgx.ParseConfig(testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	db := sqlx.NewDb(stdlib.OpenDB(*pc), "postgres")
	defer db.Close()
	ctx := context.Background()
	long := strings.Repeat("é", source.MaxTextLength+5)
	leads := `SELECT * FROM (VALUES
		(1::int8, '2026-03-01 10:00:00+01'::timestamptz, '2026-03-02 00:00:00'::timestamp, 'web'::text, 'EMEA'::varchar, 'smb'::char(5), 7::int4, 'MQL'::text, '2026-03-03'::date, NULL::timestamptz, NULL::timestamptz, ''::text),
		(2, '2026-03-01 10:00:00.123456+00', '2026-03-02 00:00:00', 'ads', 'NA', 'ent', NULL, 'New', NULL, NULL, '0001-01-01 00:00:00+00', '` + long + `'),
		(3, NULL, '2026-03-02', 'web', 'EMEA', 'smb', 7, 'New', NULL, NULL, NULL, NULL),
		(4, '2026-03-01 10:00:00+00', '2026-03-02', 'web', 'EMEA', 'smb', 7, 'New', '-infinity', 'infinity', NULL, NULL)
	) AS v(id, created_at, updated_at, source, region, segment, owner_id, status, mql_at, sql_at, disqualified_at, disqualified_reason)`
	textual := `SELECT id::text AS id, created_at::text AS created_at, updated_at::text AS updated_at, source, region,
		segment, owner_id::numeric AS owner_id, status, CASE WHEN isfinite(mql_at) THEN extract(epoch from mql_at)::int8 END AS mql_at, sql_at,
		disqualified_at, disqualified_reason FROM (` + leads + `) AS l`
	uuids := `SELECT gen_random_uuid() AS id, created_at, updated_at, source, region, segment, owner_id::float8 AS owner_id,
		status, mql_at, sql_at, disqualified_at, 'x'::name AS disqualified_reason FROM (` + leads + `) AS l WHERE id = 1`
	opps := `SELECT * FROM (VALUES
		(10::int8, 1::int8, 1234.56::numeric(12,2), 'EUR'::text, 'Won'::text, '2026-03-01 10:00:00+00'::timestamptz, '2026-04-01'::date, '2026-03-20 10:00:00+00'::timestamptz, true, true, '2026-03-20 10:00:00+00'::timestamptz),
		(11, 1, 99.5::numeric, 'USD', 'Open', '2026-03-01 10:00:00+00', NULL, NULL, false, false, '2026-03-20 10:00:00+00'),
		(12, 2, 'NaN'::numeric, 'USD', 'Open', '2026-03-01 10:00:00+00', NULL, NULL, false, false, '2026-03-20 10:00:00+00')
	) AS v(id, lead_id, amount, currency, stage, created_at, expected_close_date, closed_at, is_closed, is_won, updated_at)`
	oddOpps := `SELECT id, lead_id, amount::float8 AS amount, currency, stage, created_at, expected_close_date, closed_at,
		is_closed::int AS is_closed, is_won::text AS is_won, updated_at FROM (` + opps + `) AS o WHERE id <> 12`

	type read struct {
		Rows []any
		Res  source.Result
	}
	readAll := func(t *testing.T, q source.Querier, name, text string) read {
		t.Helper()
		var out read
		var err error
		text = source.Digested(text, source.RecordDigest)
		switch name {
		case source.QueryLeads:
			out.Res, err = source.ReadLeads(ctx, q, text, func(x source.Lead) { out.Rows = append(out.Rows, x) })
		default:
			out.Res, err = source.ReadOpportunities(ctx, q, text, func(x source.Opportunity) { out.Rows = append(out.Rows, x) })
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	for _, c := range []struct{ name, query, text string }{
		{"leads", source.QueryLeads, leads},
		{"leads as text", source.QueryLeads, textual},
		{"text ids", source.QueryLeads, uuids},
		{"opportunities", source.QueryOpportunities, opps},
		{"opportunities, other types", source.QueryOpportunities, oddOpps},
	} {
		t.Run(c.name, func(t *testing.T) {
			plain, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Rollback() //nolint:errcheck // read-only
			native, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
			if err != nil {
				t.Fatal(err)
			}
			defer native.Rollback() //nolint:errcheck // read-only
			if native.conn == nil {
				t.Fatal("a pgx connection gave no native reads")
			}
			want, got := readAll(t, plain, c.query, c.text), readAll(t, native, c.query, c.text)
			if c.name == "text ids" { // a fresh uuid per read: the ids differ, the rest must not
				if len(got.Rows) != 1 || len(want.Rows) != 1 || !got.Res.TextIDs || !want.Res.TextIDs {
					t.Fatalf("text ids: got %+v, want %+v", got, want)
				}
				g, w := got.Rows[0].(source.Lead), want.Rows[0].(source.Lead)
				g.ID, w.ID, g.Digest, w.Digest = 0, 0, 0, 0
				got.Rows[0], want.Rows[0] = g, w
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("native read:\n%+v\ndatabase/sql read:\n%+v", got, want)
			}
			if len(got.Rows) == 0 {
				t.Fatalf("no row read: %+v", got.Res)
			}
		})
	}

	// What the rows decode to, so that both paths being wrong alike fails too.
	plain, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Rollback() //nolint:errcheck // read-only
	native, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer native.Rollback() //nolint:errcheck // read-only
	l := readAll(t, native, source.QueryLeads, leads)
	if n := len(l.Rows); n != 2 {
		t.Fatalf("leads read: %d, want 2 (the third has no created_at)", n)
	}
	first := l.Rows[0].(source.Lead)
	if !first.CreatedAt.Equal(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) || first.Segment != "smb  " || first.OwnerID != 7 ||
		!first.MQLAt.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) || first.Digest == 0 {
		t.Errorf("first lead decoded as %+v", first)
	}
	if l.Res.Skipped[source.CheckNullRequired] != 1 || l.Res.Skipped[source.CheckBadValue] != 1 {
		t.Errorf("skipped: %v, want one null_required, one bad_value (±infinity)", l.Res.Skipped)
	}
	o := readAll(t, native, source.QueryOpportunities, opps)
	if n := len(o.Rows); n != 2 || o.Rows[0].(source.Opportunity).Amount != 123456 || o.Res.Skipped[source.CheckBadValue] != 1 {
		t.Errorf("opportunities: %+v", o)
	}
}

func TestMain(m *testing.M) { strictmain.Main(m) }

// demoPoller loads demo data dated at now into a fresh database and returns it with a poller of
// one of its databases under the configuration yml (its DSNs from the environment variable D).
func demoPoller(t *testing.T, seed uint64, leads int, now time.Time, yml string, which source.Database) (*sqlx.DB, *Poller) {
	t.Helper()
	db, url := testdb.Open(t)
	if _, err := demo.Load(context.Background(), db, db, demo.Options{Seed: seed, Leads: leads, Now: now, Days: 90}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(yml), "test.yml", func(string) string { return url })
	if err != nil {
		t.Fatal(err)
	}
	return db, pollerOf(t, cfg, which, now)
}

// pollerOf opens one configured database and returns its poller, its clock standing at now.
func pollerOf(t *testing.T, cfg *config.Config, which source.Database, now time.Time) *Poller {
	t.Helper()
	conn, err := Open(cfg.DB(which))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return New(cfg, which, conn.DB, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return now })
}

// TestColdStartKnowsTheOverlap: the rows a cold start read whose updated_at falls in the
// watermark's overlap are not taken for changes by the next poll, which reads them again
// unchanged: it recomputes what a poll with no change at all recomputes (the leads waiting on
// the clock), not every lead updated in the last minutes as well.
func TestColdStartKnowsTheOverlap(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	db, p := demoPoller(t, 3, 400, now, "databases:\n  crm: {dsn_env: D}\ntargets: {currency_rates: {EUR: \"1.08\", GBP: \"1.27\"}}\n", source.CRM)
	// A tenth of the leads and activities updated a minute ago: inside the overlap.
	for _, q := range []string{`UPDATE leads SET updated_at = $1 WHERE id % 10 = 0`,
		`UPDATE sales_activities SET updated_at = $1 WHERE lead_id % 10 = 3`} {
		if _, err := db.Exec(q, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	recomputed := make([]int, 3)
	for i := range recomputed {
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		recomputed[i] = p.liveCRM.Recomputed
	}
	if recomputed[0] < 400 {
		t.Fatalf("the cold start computed %d leads, want every one", recomputed[0])
	}
	// The clock stands still and nothing changes: the second poll recomputes what the third does.
	if recomputed[1] != recomputed[2] {
		t.Errorf("after the cold start, a poll with no change recomputed %d leads, the next %d: the overlap's rows were taken for changes",
			recomputed[1], recomputed[2])
	}
}

// TestOneConnection: with max_open_connections: 1 the poll's transaction holds the pool's only
// connection, and nothing in a poll may wait for another: the polls succeed, the first one
// included (which probes how each query's rows are digested).
func TestOneConnection(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	_, crm := demoPoller(t, 5, 200, now, `databases:
  crm: {dsn_env: D, max_open_connections: 1, query_timeout: 5s}
  campaigns: {dsn_env: D, max_open_connections: 1, query_timeout: 5s}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`, source.CRM)
	for _, p := range []*Poller{crm, pollerOf(t, crm.cfg, source.Campaigns, now)} {
		which := p.db
		for i := range 2 {
			pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := p.Poll(pctx)
			cancel()
			if err != nil {
				t.Fatalf("%s poll %d on one connection: %v", which, i+1, err)
			}
		}
	}
}

// TestReadSettings: a poll's transaction runs with the server's statement_timeout at
// query_timeout and without JIT compilation, and only for itself (SET LOCAL semantics): the
// pooled connection comes back with the server's own settings.
func TestReadSettings(t *testing.T) {
	db := sqlx.MustOpen("pgx", testdb.New(t))
	defer db.Close()
	db.SetMaxOpenConns(1) // the same connection before and after
	ctx := context.Background()
	show := func(q sqlx.QueryerContext, name string) string {
		var v string
		if err := sqlx.GetContext(ctx, q, &v, "SELECT current_setting($1)", name); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := db.ExecContext(ctx, "SET jit = on"); err != nil {
		t.Fatal(err)
	}
	before := show(db, "statement_timeout")
	tx, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, readSettings(2500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got := show(tx, "jit"); got != "off" {
		t.Errorf("jit in the poll's transaction = %q, want off", got)
	}
	if got := show(tx, "statement_timeout"); got != "2500ms" {
		t.Errorf("statement_timeout in the poll's transaction = %q, want 2500ms", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := show(db, "jit"); got != "on" {
		t.Errorf("jit after the transaction = %q, want the session's own (on)", got)
	}
	if got := show(db, "statement_timeout"); got != before {
		t.Errorf("statement_timeout after the transaction = %q, want %q", got, before)
	}
}

// TestSumsPlanned: a reconciliation's digest sums by ranges of leads are hashed, not sorted (the
// planner, misled about how many ranges there are, sorted every row by default), and the
// transaction's settings are its own again afterwards.
func TestSumsPlanned(t *testing.T) {
	db := sqlx.MustOpen("pgx", testdb.New(t))
	defer db.Close()
	ctx := context.Background()
	db.MustExec(`CREATE TABLE acts AS SELECT g AS id, g / 5 AS lead_id, 'call'::text AS kind FROM generate_series(1, 200000) g`)
	db.MustExec(`ANALYZE acts`)
	tx, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	plan := func() string {
		var lines []string
		q := "EXPLAIN SELECT (lead_id >> 8) AS id, count(*), sum(" + source.RecordDigest + ") FROM (SELECT * FROM acts) AS tandem_r GROUP BY 1"
		if err := tx.SelectContext(ctx, &lines, q); err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	setting := func(name string) string {
		var v string
		if err := tx.GetContext(ctx, &v, "SELECT current_setting($1)", name); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// A small work_mem stands for a big table: the 40,000 lead ids the planner counts as groups
	// do not fit, so by default it sorts.
	if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '64kB'"); err != nil {
		t.Fatal(err)
	}
	if p := plan(); !strings.Contains(p, "Sort") {
		t.Fatalf("the default plan does not sort, so this test shows nothing:\n%s", p)
	}
	before := map[string]string{}
	for _, s := range sumPlanner {
		before[s[0]] = setting(s[0])
	}
	err = sumsPlanned(ctx, tx, func() error {
		if p := plan(); strings.Contains(p, "Sort") || !strings.Contains(p, "HashAggregate") {
			t.Errorf("digest sums under sumsPlanned are not hashed:\n%s", p)
		}
		for _, s := range sumPlanner {
			if got := setting(s[0]); got != s[1] {
				t.Errorf("%s inside = %q, want %q", s[0], got, s[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range before {
		if got := setting(name); got != want {
			t.Errorf("%s after = %q, want the transaction's own %q", name, got, want)
		}
	}
}

// TestOwnDigests: once a sample of a query's rows shows its own digests equal the server's, the
// poll digests that query's rows itself (no digest column in its reads), and the per-lead sums
// it keeps equal PostgreSQL's own SUM of hash_record over the same rows, after a cold start and
// after changes. A query with a column type the poll does not hash (name) stays digested by the
// server, as does one with no row to sample yet, until it has rows.
func TestOwnDigests(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	db, p := demoPoller(t, 11, 300, now, `databases:
  crm:
    dsn_env: D
    queries:
      activities: "SELECT id, lead_id, kind::name AS kind, occurred_at, updated_at FROM sales_activities"
      opportunities: |
        SELECT id, lead_id, amount, currency, stage_name AS stage, created_at, expected_close_date,
               closed_at, is_closed, is_won, updated_at FROM opportunities WHERE lead_id % 2 = 0
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`, source.CRM)
	// No opportunity for the sample at first: the query has rows only once the even leads' are back.
	if _, err := db.Exec(`CREATE TABLE parked AS SELECT * FROM opportunities WHERE lead_id % 2 = 0; DELETE FROM opportunities WHERE lead_id % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	own := func() map[string]bool { // the queries sampled: whether the poll digests them itself
		p.digestMu.Lock()
		defer p.digestMu.Unlock()
		out := map[string]bool{}
		for name, c := range p.digests {
			if c.sampled {
				out[name] = c.own
			}
		}
		return out
	}
	// want: PostgreSQL's per-lead count and sum of hash_record over each query's rows.
	sums := func(t *testing.T) {
		t.Helper()
		got := map[int64]tally.Digest{}
		p.liveCRM.Digests(func(id int64, d tally.Digest) { got[id] = d })
		for _, q := range []struct {
			name, column string
			i            int
		}{{source.QueryLeads, "id", tally.DigestLeads}, {source.QueryActivities, "lead_id", tally.DigestActivities}, {source.QueryOpportunities, "lead_id", tally.DigestOpportunities}} {
			rows, err := db.Query(`SELECT ` + q.column + `, count(*), sum(hash_record(r)::bigint) FROM (` + p.cfg.DB(source.CRM).Query(mustLookup(q.name)) + `) AS r GROUP BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var id, count, sum int64
				if err := rows.Scan(&id, &count, &sum); err != nil {
					t.Fatal(err)
				}
				n++
				if d := got[id][q.i]; !d.Same(tally.DigestSum{N: count, Sum: sum}) {
					t.Errorf("%s of lead %d: the poll keeps %d rows summing %d, PostgreSQL %d summing %d", q.name, id, d.N, uint32(d.Sum), count, uint32(sum))
				}
			}
			rows.Close()
			if n == 0 && q.name != source.QueryOpportunities {
				t.Fatalf("%s: no rows", q.name)
			}
		}
	}
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if o := own(); !o[source.QueryLeads] || o[source.QueryActivities] {
		t.Errorf("after the first poll: own digests %v, want leads' and not activities' (kind is a name)", o)
	} else if _, sampled := o[source.QueryOpportunities]; sampled {
		t.Errorf("opportunities decided (%v) on an empty sample", o[source.QueryOpportunities])
	}
	sums(t)
	for _, q := range []string{`INSERT INTO opportunities SELECT * FROM parked`, `UPDATE opportunities SET updated_at = $1 WHERE lead_id % 2 = 0`,
		`UPDATE leads SET status = 'Working', updated_at = $1 WHERE id % 7 = 0`} {
		args := []any{now}
		if !strings.Contains(q, "$1") {
			args = nil
		}
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	p.now = func() time.Time { return now.Add(time.Minute) }
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if o := own(); !o[source.QueryOpportunities] {
		t.Errorf("after opportunities came: own digests %v, want opportunities'", o)
	}
	sums(t)
}

func mustLookup(name string) source.Query {
	q, ok := source.LookupQuery(source.CRM, name)
	if !ok {
		panic(name)
	}
	return q
}

// TestSumsPlannedForTheirParameters: a reconciliation's sum is planned for its own dirty leads,
// even where the server would reuse a generic plan, in which the array parameter is not hashed
// but searched through for every row.
func TestSumsPlannedForTheirParameters(t *testing.T) {
	db := sqlx.MustOpen("pgx", testdb.New(t))
	defer db.Close()
	ctx := context.Background()
	db.MustExec(`CREATE TABLE acts AS SELECT g AS id, g / 5 AS lead_id FROM generate_series(1, 20000) g`)
	tx, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	dirty := make([]int64, 1000)
	for i := range dirty {
		dirty[i] = int64(3 * i)
	}
	if _, err := tx.ExecContext(ctx, "PREPARE sums(bigint[]) AS SELECT count(*), sum("+source.RecordDigest+
		") FROM (SELECT * FROM acts) AS tandem_r WHERE NOT (lead_id = ANY($1))"); err != nil {
		t.Fatal(err)
	}
	// What the server's plan_cache_mode may come to after five runs, set outright here.
	if _, err := tx.ExecContext(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	plan := func() string {
		var lines []string
		// EXECUTE takes no bind parameters: the array as a literal (digits and commas).
		if err := tx.SelectContext(ctx, &lines, "EXPLAIN EXECUTE sums('"+source.LeadsParam(dirty, "postgres").(string)+"')"); err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	if p := plan(); !strings.Contains(p, "$1") {
		t.Fatalf("the generic plan names no parameter, so this test shows nothing:\n%s", p)
	}
	err = sumsPlanned(ctx, tx, func() error {
		if p := plan(); strings.Contains(p, "$1") || !strings.Contains(p, "2997") {
			t.Errorf("a sum under sumsPlanned is planned without its dirty leads:\n%s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
