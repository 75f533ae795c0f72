package demo

import (
	"fmt"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/internal/instants"
)

// memSink keeps generated rows, with every timestamp replaced by its offset from now, so that
// data generated at two instants compares equal when it is the same data shifted in time.
type memSink struct {
	now  time.Time
	rows map[string][]string
}

func (m *memSink) Add(t Table, row ...any) error {
	if m.rows == nil {
		m.rows = map[string][]string{}
	}
	out := ""
	for i, v := range row {
		col := t.Columns[i]
		switch x := v.(type) {
		case time.Time:
			if col == "day" || col == "start_date" || col == "end_date" || col == "expected_close_date" {
				v = "<date>" // whole days: they move with the time of day "now" falls at
			} else {
				v = x.Sub(m.now)
			}
		}
		out += fmt.Sprintf("%s=%v ", col, v)
	}
	m.rows[t.Name] = append(m.rows[t.Name], out)
	return nil
}

func generateAt(t *testing.T, now time.Time, leads int) map[string][]string {
	t.Helper()
	crm, camp := &memSink{now: now.UTC().Truncate(time.Second)}, &memSink{now: now.UTC().Truncate(time.Second)}
	if _, err := Generate(Options{Seed: 3, Leads: leads, Now: now, Dirty: true}, crm, camp, nil); err != nil {
		t.Fatal(err)
	}
	for k, v := range camp.rows {
		crm.rows[k] = v
	}
	return crm.rows
}

// The same seed gives the same data relative to "now" at every instant: no row depends on the
// date, the weekday or the time of day the generator runs at (campaign days aside, which are
// whole days).
func TestGeneratorIsRelativeToItsClock(t *testing.T) {
	ref := generateAt(t, time.Date(2026, 6, 10, 8, 0, 0, 0, time.UTC), 400)
	for _, in := range instants.All(time.Now(), time.January) {
		got := generateAt(t, in.At, 400)
		for table, rows := range ref {
			if len(got[table]) != len(rows) {
				t.Errorf("%s: %s has %d rows, at the reference instant %d", in, table, len(got[table]), len(rows))
				continue
			}
			for i := range rows {
				if got[table][i] != rows[i] {
					t.Errorf("%s: %s row %d differs:\n got  %s\n want %s", in, table, i, got[table][i], rows[i])
					break
				}
			}
		}
	}
}

// The demo always has a follow-up queue at its "now": MQLs waiting within the SLA, past it, and
// one abandoned, whatever the instant.
func TestGeneratorQueue(t *testing.T) {
	rows := generateAt(t, time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC), 500)
	acts := map[string]bool{}
	for _, a := range rows[Activities.Name] {
		var id, lead int64
		fmt.Sscanf(a, "id=%d lead_id=%d", &id, &lead)
		acts[fmt.Sprint(lead)] = true
	}
	found := 0
	for _, l := range rows[Leads.Name] {
		var id int64
		fmt.Sscanf(l, "id=%d", &id)
		if id <= int64(500-len(queue)) {
			continue
		}
		found++
		if acts[fmt.Sprint(id)] {
			t.Errorf("queued lead %d has a sales activity: %s", id, l)
		}
	}
	if found != len(queue) {
		t.Fatalf("%d queued leads, want %d", found, len(queue))
	}
}

func TestGeneratorNeedsAClock(t *testing.T) {
	if _, err := Generate(Options{Seed: 1, Leads: 10}, &memSink{}, &memSink{}, nil); err == nil {
		t.Fatal("Generate without Options.Now did not fail")
	}
}
