package poller

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/source"
)

// TestCodecsRoundTrip: every packed table gives back exactly the row it was given, or refuses to
// pack it (then the store keeps it as decoded).
func TestCodecsRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 2, 28, 23, 59, 59, 123456000, time.UTC)
	sub := t0.Add(7) // nanoseconds: unix microseconds cannot hold it
	far := time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newStrs()
	cases := []struct {
		name     string
		roundTip func() (bool, bool) // packed, equal after the round trip
	}{
		{"lead", func() (bool, bool) {
			l := source.Lead{ID: 7, CreatedAt: t0, UpdatedAt: t0, Source: "Paid Search", Region: "", Segment: "SMB", OwnerID: 3,
				Status: "MQL", MQLAt: t0.Add(time.Hour), DisqualifiedReason: "ünïcode"}
			p, ok := leadCodec.pack(s, l)
			return ok, leadCodec.unpack(s, p) == l
		}},
		{"lead sub-microsecond", func() (bool, bool) {
			l := source.Lead{ID: 8, CreatedAt: sub}
			p, ok := leadCodec.pack(s, l)
			return ok, leadCodec.unpack(s, p) == l
		}},
		{"activity", func() (bool, bool) {
			a := source.Activity{ID: 1, LeadID: 2, Kind: "call", OccurredAt: t0, UpdatedAt: t0}
			p, ok := activityCodec.pack(s, a)
			return ok, activityCodec.unpack(s, p) == a
		}},
		{"activity year 300000", func() (bool, bool) {
			a := source.Activity{ID: 1, LeadID: 2, Kind: "call", OccurredAt: far, UpdatedAt: t0}
			p, ok := activityCodec.pack(s, a)
			return ok, activityCodec.unpack(s, p) == a
		}},
		{"opportunity", func() (bool, bool) {
			o := source.Opportunity{ID: 1, LeadID: 0, Amount: money.Cents(-12345), Currency: "EUR", Stage: "Closed Won", CreatedAt: t0,
				ExpectedClose: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ClosedAt: t0, IsClosed: true, IsWon: true, UpdatedAt: t0}
			p, ok := opportunityCodec.pack(s, o)
			return ok, opportunityCodec.unpack(s, p) == o
		}},
		{"touchpoint before 1970", func() (bool, bool) {
			tp := source.Touchpoint{ID: 1, LeadID: 2, CampaignID: 3, Kind: "click", OccurredAt: time.Date(1969, 12, 31, 23, 0, 0, 1000, time.UTC), UpdatedAt: t0}
			p, ok := touchpointCodec.pack(s, tp)
			return ok, touchpointCodec.unpack(s, p) == tp
		}},
	}
	for _, c := range cases {
		packed, equal := c.roundTip()
		wantPacked := c.name != "lead sub-microsecond" && c.name != "activity year 300000"
		if packed != wantPacked || packed && !equal {
			t.Errorf("%s: packed %v (want %v), equal after the round trip %v", c.name, packed, wantPacked, equal)
		}
	}
}

// TestSortedStoreMatchesMap drives the packed stores (grouped and flat) through random full and
// delta reads, with duplicates, rows moving between leads and rows that do not pack, and holds
// them to a plain map at every step: rows, lookups, a lead's rows, diffs, duplicates.
func TestSortedStoreMatchesMap(t *testing.T) {
	for _, grouped := range []bool{true, false} {
		t.Run(fmt.Sprintf("grouped=%v", grouped), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, 2))
			t0 := time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC)
			var lead func(source.Activity) int64
			if grouped {
				lead = func(a source.Activity) int64 { return a.LeadID }
			}
			row := func(id int64) source.Activity {
				a := source.Activity{ID: id, LeadID: rnd.Int64N(20), Kind: []string{"call", "email", "meeting", ""}[rnd.IntN(4)],
					OccurredAt: t0.Add(time.Duration(rnd.Int64N(1e6)) * time.Second), UpdatedAt: t0}
				if rnd.IntN(10) == 0 {
					a.OccurredAt = a.OccurredAt.Add(3) // does not pack
				}
				return a
			}
			st := newSortedStore(activityCodec, lead, false, 0)
			want := map[int64]source.Activity{}
			for step := 0; step < 200; step++ {
				if step%10 == 0 { // a full read
					read := []source.Activity{}
					for id := int64(1); id <= 300; id++ {
						if rnd.IntN(5) > 0 {
							read = append(read, row(id))
						}
					}
					dups := map[int64]bool{}
					for i := 0; i < 15; i++ { // read twice under one key: the first read stays
						r := row(read[rnd.IntN(len(read))].ID)
						r.OccurredAt = r.OccurredAt.Truncate(time.Second) // packs: the duplicate is found when sealed
						read = append(read, r)
						dups[r.ID] = true
					}
					fresh := st.fresh(true, len(want)).(*sortedStore[source.Activity, activityPacked])
					next := map[int64]source.Activity{}
					for _, r := range read {
						if _, seen := next[r.ID]; !seen {
							next[r.ID] = r
						}
						fresh.put(r.ID, r)
					}
					gotDups := fresh.seal()
					slices.Sort(gotDups)
					if !slices.Equal(gotDups, slices.Sorted(maps.Keys(dups))) {
						t.Fatalf("step %d: duplicates %v, want %v", step, gotDups, slices.Sorted(maps.Keys(dups)))
					}
					checkDiff(t, step, st, fresh, want, next)
					st, want = fresh, next
				} else { // a delta read: new rows, changed rows, rows moving to another lead
					for i := 0; i < 1+rnd.IntN(8); i++ {
						r := row(1 + rnd.Int64N(320))
						st.put(r.ID, r)
						want[r.ID] = r
					}
				}
				checkStore(t, step, st, want, grouped)
			}
		})
	}
}

type activityPacked = packedActivity

func checkStore(t *testing.T, step int, st *sortedStore[source.Activity, activityPacked], want map[int64]source.Activity, grouped bool) {
	t.Helper()
	if st.len() != len(want) {
		t.Fatalf("step %d: len %d, want %d", step, st.len(), len(want))
	}
	got := map[int64]source.Activity{}
	st.each(func(k int64, v source.Activity) {
		if _, twice := got[k]; twice {
			t.Fatalf("step %d: each gave %d twice", step, k)
		}
		got[k] = v
	})
	if !maps.Equal(got, want) {
		t.Fatalf("step %d: each differs from the map", step)
	}
	for id := int64(0); id <= 321; id++ {
		v, ok := st.get(id)
		w, wok := want[id]
		if ok != wok || v != w || st.has(id) != wok {
			t.Fatalf("step %d: get(%d) = %+v, %v; want %+v, %v", step, id, v, ok, w, wok)
		}
	}
	// A range of leads (grouped) or keys (flat), as a full recount reads them.
	for _, r := range [][2]int64{{math.MinInt64, 5}, {5, 6}, {6, 13}, {13, math.MaxInt64}, {100, 200}, {math.MinInt64, math.MaxInt64}} {
		var in, wantIn []int64
		st.eachIn(r[0], r[1], func(a source.Activity) { in = append(in, a.ID) })
		for id, a := range want {
			by := id
			if grouped {
				by = a.LeadID
			}
			if by >= r[0] && (by < r[1] || r[1] == math.MaxInt64) {
				wantIn = append(wantIn, id)
			}
		}
		slices.Sort(in)
		slices.Sort(wantIn)
		if !slices.Equal(in, wantIn) {
			t.Fatalf("step %d: range %v has %v, want %v", step, r, in, wantIn)
		}
	}
	if !grouped {
		return
	}
	for g := int64(-1); g <= 20; g++ {
		var of, wantOf []int64
		st.eachOf(g, func(a source.Activity) {
			if a.LeadID != g {
				t.Fatalf("step %d: lead %d's rows hold %+v", step, g, a)
			}
			of = append(of, a.ID)
		})
		for id, a := range want {
			if a.LeadID == g {
				wantOf = append(wantOf, id)
			}
		}
		slices.Sort(of)
		slices.Sort(wantOf)
		if !slices.Equal(of, wantOf) {
			t.Fatalf("step %d: lead %d has %v, want %v", step, g, of, wantOf)
		}
	}
}

func checkDiff(t *testing.T, step int, older, newer *sortedStore[source.Activity, activityPacked], was, is map[int64]source.Activity) {
	t.Helper()
	seen := map[int64]bool{}
	var last int64 = -1
	older.diff(newer, func(k int64, old, new *source.Activity) {
		if seen[k] || k <= last {
			t.Fatalf("step %d: diff gave %d twice or out of order", step, k)
		}
		seen[k], last = true, k
		w, inWas := was[k]
		n, inIs := is[k]
		if (old != nil) != inWas || (new != nil) != inIs || old != nil && *old != w || new != nil && *new != n {
			t.Fatalf("step %d: diff of %d: %v %v, want %v %v", step, k, old, new, inWas, inIs)
		}
	})
	for k := range was {
		if !seen[k] {
			t.Fatalf("step %d: diff missed %d", step, k)
		}
	}
	for k := range is {
		if !seen[k] {
			t.Fatalf("step %d: diff missed %d", step, k)
		}
	}
}
