package poller

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
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

	_, pend, err := tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := pend.apply(); d != (drift{}) || tb.rows.len() != 3 {
		t.Fatalf("cold start: drift %+v, %d rows", d, tb.rows.len())
	}
	if !tb.watermark.Equal(t0.Add(time.Minute)) {
		t.Fatalf("watermark %v: a future-dated row must not move it past now", tb.watermark)
	}

	// A delta read: an updated row, a new row; nothing changes until apply.
	db[0] = row{1, "a2", now}
	db = append(db, row{4, "d", now})
	_, pend, _ = tb.read(context.Background(), fakeRead(db), "", false, tb.watermark, now, nil)
	if value(tb, 1) != "a" {
		t.Fatal("a read changed the table before apply")
	}
	pend.apply()
	if value(tb, 1) != "a2" || value(tb, 4) != "d" || tb.rows.len() != 4 {
		t.Fatalf("delta not applied: %+v", tb.rows)
	}

	// What deltas cannot see: a hard delete and a change behind the watermark; a full read finds both.
	db = []row{{1, "a2", now}, {3, "c", now.Add(24 * time.Hour)}, {4, "d-changed", t0}}
	_, pend, _ = tb.read(context.Background(), fakeRead(db), "", false, tb.watermark, now, nil)
	pend.apply()
	if tb.rows.len() != 4 || value(tb, 4) != "d" {
		t.Fatal("a delta read saw what it cannot see")
	}
	_, pend, _ = tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, now, nil)
	if d := pend.apply(); d.deleted != 1 || d.changed != 1 || tb.rows.len() != 3 {
		t.Fatalf("reconciliation: drift %+v, %d rows", d, tb.rows.len())
	}

	// Duplicates in one read are counted, a failing read changes nothing.
	dup := append(db, row{1, "again", now})
	_, pend, _ = tb.read(context.Background(), fakeRead(dup), "", true, time.Time{}, now, nil)
	pend.apply()
	if tb.skipped[tally.CheckDuplicateID] != 1 {
		t.Fatalf("skipped %v", tb.skipped)
	}
	failing := func(context.Context, string, func(row), ...any) (source.Result, error) {
		return source.Result{}, errors.New("connection reset")
	}
	if _, pend, err := tb.read(context.Background(), failing, "", true, time.Time{}, now, nil); err == nil || pend != nil {
		t.Fatal("a failed read must return an error and nothing to apply")
	}
	if tb.rows.len() != 3 {
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

func value(tb *table[int64, row], id int64) string {
	r, _ := tb.rows.get(id)
	return r.Value
}

type grouped struct {
	ID, Lead int64
	Value    string
	Updated  time.Time
}

// TestMirrorChangesAndLeadIndex: a read reports exactly the rows it changes (not the overlap's
// unchanged re-reads), with their old versions, before it is applied; the lead index follows
// rows that move to another lead, and is rebuilt by a full read.
func TestMirrorChangesAndLeadIndex(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	tb := newTable(func(r grouped) int64 { return r.ID }, func(r grouped) time.Time { return r.Updated })
	lead := func(r grouped) int64 { return r.Lead }
	tb = packedGroups(tb, identity(tb.key, lead), lead) // kept as decoded, grouped by lead
	read := func(db []grouped, full bool) (changes []string) {
		t.Helper()
		since := time.Time{}
		if !full {
			since = tb.watermark.Add(-time.Minute) // an overlap: rows at the watermark are read again
		}
		_, pend, err := tb.read(context.Background(), func(_ context.Context, _ string, fn func(grouped), args ...any) (source.Result, error) {
			for _, r := range db {
				if len(args) == 0 || r.Updated.After(args[0].(time.Time)) {
					fn(r)
				}
			}
			return source.Result{Skipped: map[string]int{}}, nil
		}, "", full, since, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		pend.changes(func(old, new *grouped) {
			switch {
			case old == nil:
				changes = append(changes, "+"+new.Value)
			case new == nil:
				changes = append(changes, "-"+old.Value)
			default:
				changes = append(changes, old.Value+">"+new.Value)
			}
		})
		pend.apply()
		slices.Sort(changes)
		return changes
	}
	of := func(lead int64) (vs []string) {
		tb.eachOf(lead, func(r grouped) { vs = append(vs, r.Value) })
		slices.Sort(vs)
		return vs
	}
	db := []grouped{{1, 10, "a", t0}, {2, 10, "b", t0}, {3, 20, "c", t0}}
	if got := read(db, true); !slices.Equal(got, []string{"+a", "+b", "+c"}) {
		t.Fatalf("cold start changes %v", got)
	}
	db[1] = grouped{2, 20, "b2", now} // moves to lead 20
	db = append(db, grouped{4, 30, "d", now})
	if got := read(db, false); !slices.Equal(got, []string{"+d", "b>b2"}) {
		t.Fatalf("delta changes %v (the overlap re-reads unchanged rows: not changes)", got)
	}
	if !slices.Equal(of(10), []string{"a"}) || !slices.Equal(of(20), []string{"b2", "c"}) || !slices.Equal(of(30), []string{"d"}) {
		t.Fatalf("lead index: 10 %v, 20 %v, 30 %v", of(10), of(20), of(30))
	}
	if r, ok := tb.rows.get(2); !ok || r.Value != "b2" || tb.rows.len() != 4 {
		t.Fatalf("get(2) = %+v, %v; %d rows", r, ok, tb.rows.len())
	}
	if got := read(db, false); len(got) != 0 {
		t.Fatalf("a read of nothing new changed %v", got)
	}
	db[2] = grouped{3, 20, "c2", now.Add(time.Second)} // changes, same lead
	if got := read(db, false); !slices.Equal(got, []string{"c>c2"}) || !slices.Equal(of(20), []string{"b2", "c2"}) {
		t.Fatalf("in-place change: %v, lead 20 %v", got, of(20))
	}
	db = db[1:] // a hard delete: only a full read sees it
	if got := read(db, true); !slices.Equal(got, []string{"-a"}) {
		t.Fatalf("reconciliation changes %v", got)
	}
	if len(of(10)) != 0 || !slices.Equal(of(20), []string{"b2", "c2"}) || tb.rows.len() != 3 {
		t.Fatalf("lead index after a full read: 10 %v, 20 %v", of(10), of(20))
	}
}

// TestDeltaReadsAgainstModel: delta reads leave the rows of the watermark overlap that are read
// again unchanged out of their batch; the table must end every poll as a plain model of a delta
// read says: each row read is the table's now, the first of a key read twice wins and the key
// counts as duplicated (until a full read), and the watermark moves to the newest updated_at read that is not after
// now. Random edits, inserts, duplicates and rows dated ahead of the clock, over many polls.
func TestDeltaReadsAgainstModel(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for seed := int64(1); seed <= 40; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		now := t0
		overlap := 5 * time.Minute
		var db []row
		for id := int64(1); id <= 30; id++ {
			// Batches written at one instant, as a nightly load writes them: most rows share it.
			db = append(db, row{id, "v0", t0.Add(-time.Duration(rnd.Intn(3)) * time.Minute)})
		}
		tb := newTable(func(r row) int64 { return r.ID }, func(r row) time.Time { return r.Updated })
		_, pend, err := tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		pend.apply()
		model := map[int64]row{}
		for _, r := range db {
			model[r.ID] = r
		}
		watermark := tb.watermark
		dups := map[int64]bool{} // keys read twice in one read: rejected until a full read
		for poll := 1; poll <= 30; poll++ {
			now = now.Add(time.Duration(rnd.Intn(90)) * time.Second)
			var read []row // this poll's database: a few edits and inserts, maybe a duplicate
			for _, r := range db {
				switch rnd.Intn(10) {
				case 0:
					r.Value = fmt.Sprint("v", poll)
					r.Updated = now.Add(-time.Duration(rnd.Intn(100)) * time.Second) // committed late, perhaps
				case 1:
					r.Updated = now.Add(time.Duration(1+rnd.Intn(120)) * time.Second) // ahead of the clock
				}
				read = append(read, r)
			}
			db = read
			if rnd.Intn(3) == 0 {
				db = append(db, row{int64(100 + poll), "new", now})
			}
			rows := slices.Clone(db)
			if rnd.Intn(4) == 0 {
				rows = append(rows, rows[rnd.Intn(len(rows))]) // the same row twice
			}
			if rnd.Intn(4) == 0 {
				r := rows[rnd.Intn(len(rows))]
				r.Value = "twin"
				rows = append(rows, r) // another row with a key already read
			}
			since := watermark.Add(-overlap)
			_, pend, err := tb.read(context.Background(), fakeRead(rows), "", false, since, now, nil)
			if err != nil {
				t.Fatal(err)
			}
			pend.apply()

			seen := map[int64]bool{}
			for _, r := range rows {
				if !r.Updated.After(since) {
					continue
				}
				if seen[r.ID] {
					dups[r.ID] = true
					continue
				}
				seen[r.ID] = true
				model[r.ID] = r
				if r.Updated.After(watermark) && !r.Updated.After(now) {
					watermark = r.Updated
				}
			}
			if !tb.watermark.Equal(watermark) {
				t.Fatalf("seed %d poll %d: watermark %v, want %v", seed, poll, tb.watermark, watermark)
			}
			if tb.rows.len() != len(model) {
				t.Fatalf("seed %d poll %d: %d rows, want %d", seed, poll, tb.rows.len(), len(model))
			}
			for id, want := range model {
				if got, _ := tb.rows.get(id); got != want {
					t.Fatalf("seed %d poll %d: row %d = %+v, want %+v", seed, poll, id, got, want)
				}
			}
			if tb.skipped[tally.CheckDuplicateID] != len(dups) {
				t.Fatalf("seed %d poll %d: %d duplicates counted, want %d", seed, poll, tb.skipped[tally.CheckDuplicateID], len(dups))
			}
		}
	}
}

// TestOverlapReadAgainIsNoChange: a delta read whose rows are all as the table holds them
// reports no change, keeps none in its batch, and clears a row it reads good again from the
// rejected rows.
func TestOverlapReadAgainIsNoChange(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tb := newTable(func(r row) int64 { return r.ID }, func(r row) time.Time { return r.Updated })
	db := []row{{1, "a", t0}, {2, "b", t0}, {3, "c", t0}}
	_, pend, _ := tb.read(context.Background(), fakeRead(db), "", true, time.Time{}, t0, nil)
	pend.apply()
	tb.bad[any(int64(2))] = "bad_value" // rejected by an earlier delta
	_, pend, err := tb.read(context.Background(), fakeRead(db), "", false, t0.Add(-time.Minute), t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	pend.changes(func(_, _ *row) { changed++ })
	if changed != 0 || pend.batch.len() != 0 {
		t.Fatalf("rows read again unchanged: %d changes, %d rows in the batch", changed, pend.batch.len())
	}
	pend.apply()
	if len(tb.bad) != 0 || tb.skipped["bad_value"] != 0 {
		t.Fatalf("row 2 read good again is still rejected: %v", tb.bad)
	}
	if tb.overlap != 3 || tb.rows.len() != 3 {
		t.Fatalf("overlap %d, %d rows", tb.overlap, tb.rows.len())
	}
}
