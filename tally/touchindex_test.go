package tally

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTouchIndexMatchesPerLeadLists: the packed index, through a cold start, small polls and
// polls big enough to lay it out again, gives every lead the touches a plain per-lead list does,
// in time order.
func TestTouchIndexMatchesPerLeadLists(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)
	const leads = 9000
	want := map[int64][]Touch{}
	var nextID int64
	touch := func() Touch {
		nextID++
		return Touch{At: t0.Add(time.Duration(rnd.IntN(5000)) * time.Minute).UnixNano(), ID: nextID, Campaign: rnd.Int64N(4)}
	}
	x := &TouchIndex{ByLead: map[int64][]Touch{}}
	batch := func(n int, removals bool) []TouchChange {
		var cs []TouchChange
		for i := 0; i < n; i++ {
			lead := rnd.Int64N(leads)
			if removals && len(want[lead]) > 0 && rnd.IntN(2) == 0 {
				ts := want[lead]
				j := rnd.IntN(len(ts))
				cs = append(cs, TouchChange{Lead: lead, Touch: ts[j], Removed: true})
				want[lead] = slices.Delete(slices.Clone(ts), j, j+1)
				if rnd.IntN(2) == 0 { // moved to another lead, later
					moved := ts[j]
					moved.At += int64(time.Hour)
					to := rnd.Int64N(leads)
					cs = append(cs, TouchChange{Lead: to, Touch: moved})
					want[to] = append(want[to], moved)
				}
				continue
			}
			tc := touch()
			cs = append(cs, TouchChange{Lead: lead, Touch: tc})
			want[lead] = append(want[lead], tc)
		}
		return cs
	}
	check := func(step string) {
		t.Helper()
		for lead := int64(-1); lead <= leads; lead++ {
			w := slices.Clone(want[lead])
			sortTouches(w)
			if got := x.Of(lead); !slices.Equal(got, w) {
				t.Fatalf("%s: lead %d has %v, want %v", step, lead, got, w)
			}
		}
	}
	x.apply(batch(20000, false)) // a cold start: packed at once
	if len(x.ByLead) != 0 || len(x.base) != 20000 {
		t.Fatalf("cold start not packed: %d in ByLead, %d in base", len(x.ByLead), len(x.base))
	}
	check("cold start")
	for i := 0; i < 5; i++ {
		x.apply(batch(50, true))
		check("small poll")
	}
	if len(x.ByLead) == 0 {
		t.Fatal("small polls did not go to the overlay")
	}
	x.apply(batch(12000, true)) // overrides more than 4,096 leads: laid out again
	if len(x.ByLead) != 0 {
		t.Fatalf("a big poll left %d leads in the overlay", len(x.ByLead))
	}
	check("big poll")
	x.apply(batch(50, true))
	check("after the layout")
}
