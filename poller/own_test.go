package poller

import (
	"maps"
	"testing"

	"github.com/tandem-oss/tandem/source"
)

// TestOwnRowsKnown: a lead is known from its own row only when the deltas returned one row of
// it, changed, and nothing else of it changed; rows read again unchanged (the overlap) count
// towards its rows without being kept.
func TestOwnRowsKnown(t *testing.T) {
	type sawRow struct {
		lead    int64
		isLead  bool // a leads row, else an activity
		changed bool
	}
	cases := []struct {
		name  string
		saw   []sawRow
		known []int64
	}{
		{"one changed row", []sawRow{{1, true, true}}, []int64{1}},
		{"unchanged only", []sawRow{{1, true, false}}, nil},
		{"changed, then the same id again unchanged", []sawRow{{1, true, true}, {1, true, false}}, nil},
		{"unchanged, then the same id again changed", []sawRow{{1, true, false}, {1, true, true}}, nil},
		{"two changed rows of one lead", []sawRow{{1, true, true}, {1, true, true}}, nil},
		{"its activity changed too", []sawRow{{1, true, true}, {1, false, true}}, nil},
		{"its activity read again unchanged", []sawRow{{1, false, false}, {1, true, true}}, []int64{1}},
		{"the overlap around a changed lead", []sawRow{{2, true, false}, {1, true, true}, {3, true, false}, {2, false, false}}, []int64{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := &ownRows{rows: map[int64][]source.Lead{}, n: map[int64]int32{}, changed: map[int64]bool{}, others: map[int64]bool{}}
			for i, r := range c.saw {
				if r.isLead {
					o.sawLead(source.Lead{ID: r.lead, Status: "row" + string(rune('a'+i))}, r.changed)
				} else {
					o.sawOther(r.lead, r.changed)
				}
			}
			got := o.known()
			want := map[int64]bool{}
			for _, id := range c.known {
				want[id] = true
				// The row known is the changed one.
				for i, r := range c.saw {
					if r.lead == id && r.isLead && r.changed && got[id].Status != "row"+string(rune('a'+i)) {
						t.Errorf("lead %d known as %+v, want its changed row %d", id, got[id], i)
					}
				}
			}
			if !maps.Equal(keys(got), want) {
				t.Errorf("known %v, want %v", keys(got), want)
			}
		})
	}
}

func keys(m map[int64]source.Lead) map[int64]bool {
	out := map[int64]bool{}
	for id := range m {
		out[id] = true
	}
	return out
}
