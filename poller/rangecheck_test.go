package poller

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/source"
)

// TestRangeShape measures, through EXPLAIN ANALYZE, one range of the same rows laid out in lead
// order and in random order, both read through their lead_id index as a full recount reads a
// large table (the planner's other scans are off: on tables this small it would read them
// whole). The ordered range takes a page for tens of rows, the scattered one about a page a row;
// only the scattered one is a verdict of scattered, and each names the relation it read.
func TestRangeShape(t *testing.T) {
	db := sqlx.MustOpen("pgx", testdb.New(t))
	defer db.Close()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE acts_in_order AS SELECT g AS id, g / 10 AS lead_id, 'call'::text AS kind, now() AS occurred_at FROM generate_series(1, 40000) g`,
		`CREATE TABLE acts_scattered AS SELECT * FROM acts_in_order ORDER BY random()`,
		`CREATE INDEX ON acts_in_order (lead_id)`,
		`CREATE INDEX ON acts_scattered (lead_id)`,
		`ANALYZE acts_in_order`,
		`ANALYZE acts_scattered`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := beginRead(ctx, db, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	for _, q := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_bitmapscan = off"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		table     string
		scattered bool
	}{{"acts_in_order", false}, {"acts_scattered", true}} {
		text, args := source.InRange("SELECT id, lead_id, kind, occurred_at FROM "+c.table, "lead_id", 1000, 1500, false)
		s, err := explainRange(ctx, tx, tx.Rebind(text), args)
		if err != nil {
			t.Fatal(err)
		}
		if s.rows != 5000 {
			t.Errorf("%s: the range returned %d rows, want 5000", c.table, s.rows)
		}
		if s.scattered() != c.scattered {
			t.Errorf("%s: %d rows from %d buffers: scattered = %v, want %v", c.table, s.rows, s.buffers, s.scattered(), c.scattered)
		}
		if len(s.relations) != 1 || s.relations[0] != c.table {
			t.Errorf("%s: relations %v", c.table, s.relations)
		}
		t.Logf("%s: %d rows from %d buffers", c.table, s.rows, s.buffers)
	}
	// A range EXPLAIN cannot run leaves the transaction usable, and says why.
	if _, err := explainRange(ctx, tx, "SELECT no_such_column FROM acts_in_order", nil); err == nil {
		t.Error("a failing range measured without error")
	}
	var n int
	if err := tx.GetContext(ctx, &n, "SELECT count(*) FROM acts_in_order"); err != nil || n != 40000 {
		t.Errorf("after a failed measurement the transaction reads %d rows, %v", n, err)
	}
}

// TestScatteredVerdict: the verdict's bounds.
func TestScatteredVerdict(t *testing.T) {
	for _, c := range []struct {
		rows, buffers int64
		want          bool
	}{
		{10000, 10240, true},  // the time-ordered activities' range at a million leads
		{10240, 142, false},   // the same range of a table in lead order
		{10000, 5000, true},   // a page for every two rows
		{10000, 4999, false},  // fewer
		{255, 255, false},     // too few rows for a verdict
		{256, 128, true},      // just enough
		{0, 12, false},        // an empty range
		{40000, 14000, false}, // a bitmap scan of a small table: every page, once
	} {
		if got := (rangeShape{rows: c.rows, buffers: c.buffers}).scattered(); got != c.want {
			t.Errorf("%d rows from %d buffers: scattered = %v, want %v", c.rows, c.buffers, got, c.want)
		}
	}
}

// TestColdStartWarnsOfScatteredRanges: a cold start over a CRM whose activities are in random
// order, read through their indexes, warns once, naming the activities and their table and
// saying what to do; the leads, in id order, draw no warning; a second full recount (an owner
// renamed) measures nothing again.
func TestColdStartWarnsOfScatteredRanges(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 13, 15, 0, 0, 0, time.UTC)
	db, url := testdb.Open(t)
	if _, err := demo.Load(ctx, db, db, demo.Options{Seed: 5, Leads: 1500, Now: now, Days: 90}, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE shuffled AS SELECT * FROM sales_activities ORDER BY random()`,
		`TRUNCATE sales_activities`,
		`INSERT INTO sales_activities SELECT * FROM shuffled`,
		`DROP TABLE shuffled`,
		`ANALYZE sales_activities`,
		// The plans of a large CRM, on tables this small: each range through its index.
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET enable_seqscan = off', current_database());
		   EXECUTE format('ALTER DATABASE %I SET enable_bitmapscan = off', current_database()); END $$`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	yml := "databases:\n  crm: {dsn_env: D}\ntargets: {currency_rates: {EUR: \"1.08\", GBP: \"1.27\"}}\n"
	cfg, err := config.Parse([]byte(yml), "test.yml", func(string) string { return url })
	if err != nil {
		t.Fatal(err)
	}
	conn, err := Open(cfg.DB(source.CRM))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var logs bytes.Buffer
	p := New(cfg, source.CRM, conn.DB, slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })
	for _, change := range []string{"", "UPDATE owners SET name = name || ' jr' WHERE id = (SELECT min(id) FROM owners)"} {
		if change != "" {
			if _, err := db.ExecContext(ctx, change); err != nil {
				t.Fatal(err)
			}
		}
		rebuilds := p.liveCRM.Rebuilds
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if p.liveCRM.Rebuilds != rebuilds+1 {
			t.Fatalf("the poll after %q was no full recount", change)
		}
	}
	var warned []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "a page a row") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 {
		t.Fatalf("%d warnings of scattered ranges in two full recounts, want 1 (the activities):\n%s", len(warned), logs.String())
	}
	for _, want := range []string{"query=activities", "relations=[sales_activities]", "INCLUDE", "CLUSTER", "(lead_id)"} {
		if !strings.Contains(warned[0], want) {
			t.Errorf("the warning says nothing of %q:\n%s", want, warned[0])
		}
	}
}
