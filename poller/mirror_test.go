package poller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

type row struct {
	ID      int64
	Value   string
	Updated time.Time
}

func fakeRead(rows []row) func(context.Context, string, func(row), ...any) (source.Result, error) {
	return func(_ context.Context, _ string, fn func(row), args ...any) (source.Result, error) {
		for _, r := range rows {
			if len(args) == 1 && !r.Updated.After(args[0].(time.Time)) {
				continue // the delta query's WHERE updated_at > ?
			}
			fn(r)
		}
		return source.Result{Rows: len(rows), Skipped: map[string]int{}}, nil
	}
}

func TestMirrorTable(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	tb := newTable(func(r row) int64 { return r.ID }, func(r row) time.Time { return r.Updated })
	db := []row{{1, "a", t0}, {2, "b", t0.Add(time.Minute)}, {3, "c", now.Add(24 * time.Hour)}} // row 3 is dated in the future

	_, apply, err := tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := apply(); d != (drift{}) || len(tb.rows) != 3 {
		t.Fatalf("cold start: drift %+v, %d rows", d, len(tb.rows))
	}
	if !tb.watermark.Equal(t0.Add(time.Minute)) {
		t.Fatalf("watermark %v: a future-dated row must not move it past now", tb.watermark)
	}

	// A delta read: an updated row, a new row; nothing changes until apply.
	db[0] = row{1, "a2", now}
	db = append(db, row{4, "d", now})
	_, apply, _ = tb.read(context.Background(), fakeRead(db), "", false, tb.watermark, now, nil)
	if tb.rows[1].Value != "a" {
		t.Fatal("a read changed the table before apply")
	}
	apply()
	if tb.rows[1].Value != "a2" || tb.rows[4].Value != "d" || len(tb.rows) != 4 {
		t.Fatalf("delta not applied: %+v", tb.rows)
	}

	// What deltas cannot see: a hard delete and a change behind the watermark; a full read finds both.
	db = []row{{1, "a2", now}, {3, "c", now.Add(24 * time.Hour)}, {4, "d-changed", t0}}
	_, apply, _ = tb.read(context.Background(), fakeRead(db), "", false, tb.watermark, now, nil)
	apply()
	if len(tb.rows) != 4 || tb.rows[4].Value != "d" {
		t.Fatal("a delta read saw what it cannot see")
	}
	_, apply, _ = tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, now, nil)
	if d := apply(); d.deleted != 1 || d.changed != 1 || len(tb.rows) != 3 {
		t.Fatalf("reconciliation: drift %+v, %d rows", d, len(tb.rows))
	}

	// Duplicates in one read are counted, a failing read changes nothing.
	dup := append(db, row{1, "again", now})
	_, apply, _ = tb.read(context.Background(), fakeRead(dup), "", true, time.Time{}, now, nil)
	apply()
	if tb.skipped[tally.CheckDuplicateID] != 1 {
		t.Fatalf("skipped %v", tb.skipped)
	}
	failing := func(context.Context, string, func(row), ...any) (source.Result, error) {
		return source.Result{}, errors.New("connection reset")
	}
	if _, apply, err := tb.read(context.Background(), failing, "", true, time.Time{}, now, nil); err == nil || apply != nil {
		t.Fatal("a failed read must return an error and nothing to apply")
	}
	if len(tb.rows) != 3 {
		t.Fatal("a failed read changed the table")
	}
}

func TestFullReadReportsProgress(t *testing.T) {
	tb := newTable(func(r row) int64 { return r.ID }, func(r row) time.Time { return r.Updated })
	rows := make([]row, 2*progressEvery+10)
	for i := range rows {
		rows[i] = row{ID: int64(i + 1)}
	}
	var reported []int
	if _, _, err := tb.read(context.Background(), fakeRead(rows), "", true, time.Time{}, time.Now(), func(n int) { reported = append(reported, n) }); err != nil {
		t.Fatal(err)
	}
	if len(reported) != 2 || reported[0] != progressEvery || reported[1] != 2*progressEvery {
		t.Fatalf("progress reported at %v", reported)
	}
}
