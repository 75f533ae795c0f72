package quantile

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestPackedMatchesSlice: merges, removals and deletions on a packed set leave it holding what a
// plain sorted slice of the same values holds, read by index, by bound and in order, in
// canonical buckets; with values inside one high half, across many, and at the ends of the word.
func TestPackedMatchesSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	draws := []struct {
		name string
		draw func() uint32
	}{ // in order: one source of random numbers for all (a map's order would change the run)
		{"one bucket", func() uint32 { return uint32(r.IntN(5000)) }},
		{"many buckets", func() uint32 { return uint32(r.IntN(40 << 16)) }},
		{"bucket edges", func() uint32 { return uint32(r.IntN(6))<<16 + uint32(r.IntN(3)) - 1 }},
		{"word ends", func() uint32 { return []uint32{0, 1, 65535, 65536, math.MaxUint32 - 1, math.MaxUint32}[r.IntN(6)] }},
	}
	for _, d := range draws {
		name, draw := d.name, d.draw
		var p packed
		var ref []uint32
		sorted := func(n int) []uint32 {
			vs := make([]uint32, n)
			for i := range vs {
				vs[i] = draw()
			}
			slices.Sort(vs)
			return vs
		}
		// some picks a sorted sample (repeats as held) of the values held.
		some := func(n int) []uint32 {
			var out []uint32
			for _, i := range r.Perm(len(ref))[:min(n, len(ref))] {
				out = append(out, ref[i])
			}
			slices.Sort(out)
			return out
		}
		for step := range 600 {
			switch op := r.IntN(5); {
			case op == 0 || len(ref) == 0:
				n := r.IntN(300)
				if r.IntN(2) == 0 {
					n = 1 + r.IntN(4) // few: put in place one by one (insertFew)
				}
				add := sorted(n)
				p.merge(add)
				ref = append(ref, add...)
			case op == 1:
				add := sorted([]int{r.IntN(300), 1 + r.IntN(4)}[r.IntN(2)])
				o := pack(add)
				p.mergePacked(&o)
				ref = append(ref, add...)
			case op == 2:
				out := some(r.IntN(200))
				o := pack(out)
				p.remove(&o)
				ref = removeByScan(ref, out)
			case op == 3:
				v := ref[r.IntN(len(ref))]
				n := 0
				for _, x := range ref {
					if x == v {
						n++
					}
				}
				k := 1 + r.IntN(n)
				p.deleteN(v, k)
				i := sort.Search(len(ref), func(i int) bool { return ref[i] >= v })
				ref = slices.Delete(ref, i, i+k)
			default:
				c := p.clone()
				c.merge(sorted(5)) // a clone written to leaves its original as it was
			}
			slices.Sort(ref)
			checkPacked(t, name, step, &p, ref, draw)
		}
	}
}

func checkPacked(t *testing.T, name string, step int, p *packed, ref []uint32, draw func() uint32) {
	t.Helper()
	if got := p.appendTo(nil); !slices.Equal(got, ref) && !(len(got) == 0 && len(ref) == 0) {
		t.Fatalf("%s, step %d: holds %v, want %v", name, step, got, ref)
	}
	for i, v := range ref {
		if got := p.get(i); got != v {
			t.Fatalf("%s, step %d: value %d is %d, want %d", name, step, i, got, v)
		}
	}
	for k := range 50 {
		u := draw() + uint32(k%3) - 1
		if got, want := p.above(u), sort.Search(len(ref), func(i int) bool { return ref[i] > u }); got != want {
			t.Fatalf("%s, step %d: above %d is %d, want %d", name, step, u, got, want)
		}
		if got, want := p.first(u), sort.Search(len(ref), func(i int) bool { return ref[i] >= u }); got != want {
			t.Fatalf("%s, step %d: first %d is %d, want %d", name, step, u, got, want)
		}
	}
	for b := range p.his {
		if p.end(b) <= int(p.at[b]) || b > 0 && p.his[b] <= p.his[b-1] {
			t.Fatalf("%s, step %d: buckets not canonical: his %v at %v (%d values)", name, step, p.his, p.at, p.len())
		}
	}
	if want := pack(ref); !p.equal(&want) {
		t.Fatalf("%s, step %d: not equal to the same values packed at once", name, step)
	}
}

func TestPackedRemovingWhatWasNeverAddedPanics(t *testing.T) {
	for _, c := range []struct{ held, out []uint32 }{
		{[]uint32{1, 2, 2, 3}, []uint32{2, 2, 2}},
		{[]uint32{1, 70000}, []uint32{70001}},
		{[]uint32{5}, []uint32{4}},
		{nil, []uint32{0}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("removing %v from %v did not panic", c.out, c.held)
				}
			}()
			p, o := pack(c.held), pack(c.out)
			p.remove(&o)
		}()
	}
}

// BenchmarkSettleFew: a steady poll's few values (50) settled into a set of a million whole
// seconds: packed, put in place one by one (insertFew) and by the merge that compares every value
// above the least added, against the plain sorted []uint32 of before (mergeSorted) in the same run.
func BenchmarkSettleFew(b *testing.B) {
	r := rand.New(rand.NewPCG(23, 24))
	vals := make([]uint32, 1<<20)
	for i := range vals {
		vals[i] = uint32(r.IntN(1 << 23))
	}
	slices.Sort(vals)
	few := make([]uint32, 50)
	for i := range few {
		few[i] = uint32(r.IntN(1 << 23))
	}
	slices.Sort(few)
	b.Run("uint32-merge", func(b *testing.B) {
		work := make([]uint32, len(vals), len(vals)+len(few))
		for b.Loop() {
			copy(work, vals)
			mergeSorted(work[:len(vals)], few)
		}
	})
	p := pack(vals)
	work := p.clone()
	work.lo = slices.Grow(work.lo, len(few))
	reset := func() { // the set as it was (a copy of a megabyte, in each variant)
		work.lo = append(work.lo[:0], p.lo...)
		work.his, work.at = append(work.his[:0], p.his...), append(work.at[:0], p.at...)
	}
	b.Run("packed-insert", func(b *testing.B) {
		for b.Loop() {
			reset()
			work.merge(few)
		}
	})
	b.Run("packed-merge", func(b *testing.B) {
		for b.Loop() {
			reset()
			work.mergeBack(addCounts(work.counts(), countsOf(few)), backwardOf(few))
		}
	})
	b.Logf("a million values: %d bytes packed, %d as uint32", p.bytes(), 4*len(vals))
}
