package quantile

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// reference is percentile_cont written out on a sorted slice.
func reference(vs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	h := q * float64(len(s)-1)
	lo := math.Floor(h)
	if int(lo)+1 >= len(s) {
		return s[int(lo)]
	}
	return s[int(lo)] + (h-lo)*(s[int(lo)+1]-s[int(lo)])
}

func TestQuantile(t *testing.T) {
	cases := []struct {
		name   string
		values []float64
		q      float64
		want   float64
	}{
		{"one value", []float64{7}, 0.5, 7},
		{"median of an even count interpolates", []float64{1, 2, 3, 4}, 0.5, 2.5},
		{"median of an odd count", []float64{5, 1, 3}, 0.5, 3},
		{"p90 interpolates between ranks 8 and 9 of 10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9.1},
		{"repeats count", []float64{1, 1, 1, 10}, 0.5, 1},
		{"q=0 is the minimum", []float64{3, 9, 1}, 0, 1},
		{"q=1 is the maximum", []float64{3, 9, 1}, 1, 9},
	}
	for _, c := range cases {
		var s Set
		for _, v := range c.values {
			s.Add(v, 1)
		}
		if got := s.Quantile(c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: Quantile(%v) = %v, want %v", c.name, c.q, got, c.want)
		}
	}
	var empty Set
	if !math.IsNaN(empty.Quantile(0.5)) {
		t.Error("an empty set has no median")
	}
}

// Random adds and removes: the set's quantiles always equal the reference on the values it holds,
// with whole seconds only (kept in four bytes) and with some values that are not (which widen it).
func TestQuantileUnderChange(t *testing.T) {
	for _, odd := range []int{0, 200} {
		testUnderChange(t, odd)
	}
}

func testUnderChange(t *testing.T, odd int) {
	r := rand.New(rand.NewPCG(1, 2))
	value := func() float64 {
		v := float64(r.IntN(50)) * 60
		if odd > 0 && r.IntN(odd) == 0 {
			v = []float64{v + 0.5, -v - 1, 1 << 33, math.Copysign(0, -1)}[r.IntN(4)]
		}
		return v
	}
	var s Set
	var held []float64
	for step := 0; step < 3000; step++ {
		switch {
		case len(held) > 3 && r.IntN(10) == 0: // a part taken out, as the live tally does
			var part Set
			for k := 0; k < 3; k++ {
				i := r.IntN(len(held))
				part.Add(held[i], 1)
				held = append(held[:i], held[i+1:]...)
			}
			s.Merge(&part, -1)
		case r.IntN(10) == 0: // a part put in, cloned first
			var part Set
			for k := 0; k < 3; k++ {
				v := value()
				part.Add(v, 1)
				held = append(held, v)
			}
			s.Merge(part.Clone(), 1)
		case len(held) > 0 && r.IntN(3) == 0:
			i := r.IntN(len(held))
			s.Add(held[i], -1)
			held = append(held[:i], held[i+1:]...)
		default:
			v := value()
			s.Add(v, 1)
			held = append(held, v)
		}
		if len(held) == 0 {
			continue
		}
		for _, q := range []float64{0.5, 0.9} {
			if got, want := s.Quantile(q), reference(held, q); math.Abs(got-want) > 1e-9 {
				t.Fatalf("odd %d, step %d: Quantile(%v) = %v, want %v over %d values", odd, step, q, got, want, len(held))
			}
		}
		if s.Len() != int64(len(held)) {
			t.Fatalf("Len %d, holds %d", s.Len(), len(held))
		}
	}
	if hasOdd := slices.ContainsFunc(held, func(v float64) bool { return !fits(v) }); hasOdd != (len(s.odd) > 0) {
		t.Errorf("odd %d: %d values kept in eight bytes, odd values held: %v", odd, len(s.odd), hasOdd)
	}
}

func TestRemovingWhatWasNeverAddedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var s Set
	s.Add(1, 1)
	s.Add(2, -1)
}

func TestMergingOutWhatWasNeverAddedPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var s, part Set
	s.Add(1, 1)
	s.Add(3, 1)
	part.Add(2, 1)
	s.Merge(&part, -1)
}

// The quantile of a union of sets equals the reference on all their values together, whatever
// their sizes (empty ones included), repeats, negative values and zeros of either sign.
func TestQuantileOf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		sets := make([]*Set, 1+r.IntN(6))
		var all []float64
		for i := range sets {
			sets[i] = &Set{}
			for k := r.IntN(20); k > 0; k-- {
				var v float64
				if trial%2 == 0 { // whole seconds only: the sets select over integers
					v = float64(r.IntN(1000)) * float64(1+r.IntN(3))
					sets[i].Add(v, 1)
					all = append(all, v)
					continue
				}
				switch r.IntN(4) {
				case 0:
					v = float64(r.IntN(5)) // repeats
				case 1:
					v = -r.Float64() * 1e3
				case 2:
					v = math.Copysign(0, -1)
				default:
					v = r.Float64() * 1e6
				}
				sets[i].Add(v, 1)
				all = append(all, v)
			}
		}
		for _, q := range []float64{0, 0.5, 0.9, 1, r.Float64()} {
			got := QuantileOf(sets, q)
			if len(all) == 0 {
				if !math.IsNaN(got) {
					t.Fatalf("trial %d: no values, QuantileOf = %v", trial, got)
				}
				continue
			}
			if want := reference(all, q); got != want {
				t.Fatalf("trial %d: QuantileOf(%v) = %v, want %v over %v", trial, q, got, want, all)
			}
		}
	}
}

// TestQuantileNear: started from any value (one held, one between, the quantile itself before
// a change, NaN, infinities, ±0), QuantileNear returns what QuantileOf does, over whole seconds
// and over any floats, in sets whose quantile moved a little or far.
func TestQuantileNear(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 400; trial++ {
		whole := trial%2 == 0
		value := func() float64 {
			if whole {
				return float64(r.IntN(50) * (1 + r.IntN(40))) // repeats, and gaps of all sizes
			}
			switch r.IntN(5) {
			case 0:
				return float64(r.IntN(5))
			case 1:
				return -r.Float64() * 1e3
			case 2:
				return math.Copysign(0, -1)
			default:
				return r.Float64() * 1e4
			}
		}
		sets := make([]*Set, 2+r.IntN(5))
		vals := make([][]float64, len(sets)) // each set's values
		for i := range sets {
			sets[i] = &Set{}
			for k := r.IntN(60); k > 0; k-- {
				v := value()
				sets[i].Add(v, 1)
				vals[i] = append(vals[i], v)
			}
		}
		for _, q := range []float64{0, 0.5, 0.9, 0.99, 1, r.Float64()} {
			before := QuantileOf(sets, q)
			// A few values change, as between two polls.
			for k := r.IntN(4); k > 0; k-- {
				i := r.IntN(len(sets))
				if len(vals[i]) == 0 {
					continue
				}
				j := r.IntN(len(vals[i]))
				sets[i].Add(vals[i][j], -1)
				vals[i][j] = value()
				sets[i].Add(vals[i][j], 1)
			}
			all := slices.Concat(vals...)
			want := QuantileOf(sets, q)
			if len(all) > 0 && want != reference(all, q) {
				t.Fatalf("trial %d: QuantileOf(%v) = %v, reference %v", trial, q, want, reference(all, q))
			}
			nears := []float64{before, want, math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), -1e9, 1e9, 0.5}
			if len(all) > 0 {
				nears = append(nears, all[r.IntN(len(all))], all[r.IntN(len(all))]+0.25)
			}
			for _, near := range nears {
				got := QuantileNear(sets, q, near)
				same := got == want && math.Signbit(got) == math.Signbit(want) || math.IsNaN(got) && math.IsNaN(want)
				if !same {
					t.Fatalf("trial %d: QuantileNear(%v, near %v) = %v, QuantileOf %v over %v", trial, q, near, got, want, all)
				}
			}
		}
	}
}

// TestRunUnder: a run's count of values less than v, whole seconds (packed) and floats alike,
// is a count over its values, for held values, values between and beyond them, NaN and ±0.
func TestRunUnder(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for trial := 0; trial < 200; trial++ {
		s := &Set{}
		var all []float64
		for k := 1 + r.IntN(80); k > 0; k-- {
			v := float64(r.IntN(300) * (1 + r.IntN(1000)))
			if trial%2 == 1 && r.IntN(3) == 0 {
				v = r.Float64()*1e3 - 200
			}
			s.Add(v, 1)
			all = append(all, v)
		}
		s.Settle()
		runs := s.runs(nil)
		for _, v := range []float64{all[r.IntN(len(all))], all[r.IntN(len(all))] + 0.5, all[r.IntN(len(all))] - 0.5,
			0, math.Copysign(0, -1), -1, 1, math.NaN(), math.Inf(1), math.Inf(-1), 1 << 33} {
			want := 0
			for _, x := range all {
				if x < v {
					want++
				}
			}
			got := 0
			for _, run := range runs {
				got += run.under(v)
			}
			if got != want {
				t.Fatalf("trial %d: under(%v) = %d, want %d", trial, v, got, want)
			}
		}
	}
}

// TestMergeSettledHalves: two settled sets of comparable size (the two cores' totals of a
// count) merge straight into one another's sorted values, odd values included, and hold what
// adding every value one by one holds: the same quantiles, and every value can be taken out again.
func TestMergeSettledHalves(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	value := func() float64 {
		v := float64(r.IntN(1000)) * 7
		if r.IntN(20) == 0 {
			v = []float64{v + 0.25, -v - 1, 1 << 33}[r.IntN(3)]
		}
		return v
	}
	var a, b, want Set
	var all []float64
	for range 5000 {
		v := value()
		a.Add(v, 1)
		want.Add(v, 1)
		all = append(all, v)
	}
	for range 3000 {
		v := value()
		b.Add(v, 1)
		want.Add(v, 1)
		all = append(all, v)
	}
	a.Settle()
	b.Settle()
	a.Merge(&b, 1)
	if a.waiting() != 0 {
		t.Fatalf("the merge of a settled half went through added (%d values)", a.waiting())
	}
	if a.Len() != int64(len(all)) {
		t.Fatalf("merged set holds %d values, want %d", a.Len(), len(all))
	}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
		if got, ref := a.Quantile(q), reference(all, q); got != ref || got != want.Quantile(q) {
			t.Errorf("q%v: merged %v, added one by one %v, percentile_cont %v", q, got, want.Quantile(q), ref)
		}
	}
	a.Merge(&b, -1) // b's values out again
	if a.Len() != 5000 {
		t.Fatalf("after taking the half out: %d values, want 5000", a.Len())
	}
	if got, ref := a.Quantile(0.5), reference(all[:5000], 0.5); got != ref {
		t.Errorf("median after taking the half out = %v, want %v", got, ref)
	}
}

// TestBacklogBounded: values merged in many small sets (a cold start's rounds adding into a
// total) wait unsorted, as float64s, only until they are a quarter of the sorted ones; the
// quantiles are those of every value all the same.
func TestBacklogBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var total Set
	var all []float64
	for range 400 {
		var round Set
		for range 500 {
			v := float64(r.IntN(1 << 20))
			if r.IntN(50) == 0 {
				v += 0.5 // an odd one
			}
			round.Add(v, 1)
			all = append(all, v)
		}
		total.Merge(&round, 1)
		if sorted := total.secs.len() + len(total.odd); len(total.added) > max(settleMin, sorted/4)+500 {
			t.Fatalf("after %d values, %d wait unsorted beside %d sorted", len(all), len(total.added), sorted)
		}
	}
	if total.secs.len() == 0 {
		t.Fatal("nothing was settled along the way")
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.9, 1} {
		if got, want := total.Quantile(q), reference(all, q); got != want {
			t.Errorf("q%v = %v, want %v", q, got, want)
		}
	}
}

// removeByScan is remove as a merge: every value of vals compared on the way. The reference
// remove is checked against, and its baseline in BenchmarkRemove.
func removeByScan(vals []uint32, o []uint32) []uint32 {
	out := vals[:0]
	j := 0
	for _, v := range vals {
		if j < len(o) && o[j] == v {
			j++
			continue
		}
		out = append(out, v)
	}
	if j < len(o) {
		panic("never added")
	}
	return out
}

// sortedSample returns n sorted values with repeats, and a sorted subset of k of them.
func sortedSample(r *rand.Rand, n, k int) (vals, some []uint32) {
	vals = make([]uint32, n)
	for i := range vals {
		vals[i] = uint32(r.IntN(n/2 + 1)) // repeats
	}
	slices.Sort(vals)
	for _, i := range r.Perm(n)[:k] {
		some = append(some, vals[i])
	}
	slices.Sort(some)
	return vals, some
}

func TestRemoveMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, size := range [][2]int{{1, 1}, {2, 1}, {10, 10}, {100, 3}, {1000, 999}, {5000, 40}} {
		for range 20 {
			vals, some := sortedSample(r, size[0], size[1])
			got := remove(slices.Clone(vals), some)
			if want := removeByScan(slices.Clone(vals), some); !slices.Equal(got, want) {
				t.Fatalf("%d values less %d: remove kept %v, want %v", size[0], size[1], got, want)
			}
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("removing a value not in the set did not panic")
			}
		}()
		remove([]uint32{1, 2, 2, 3}, []uint32{2, 2, 2})
	}()
}

// BenchmarkRemove: a poll's changed values (a thousand) taken out of a set of a million, by
// binary search and copy against the merge-like scan (removeByScan) in the same run, and from
// the packed set a Set keeps its whole seconds in (packed.remove; the copy of the set as it was
// is not timed in either).
func BenchmarkRemove(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	vals, some := sortedSample(r, 1<<20, 1000)
	work := make([]uint32, len(vals))
	for _, bc := range []struct {
		name string
		fn   func([]uint32, []uint32) []uint32
	}{{"scan", removeByScan}, {"search", remove[uint32, uint32]}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				copy(work, vals) // the set as it was: not timed
				b.StartTimer()
				bc.fn(work, some)
			}
		})
	}
	p, o := pack(vals), pack(some)
	b.Run("packed", func(b *testing.B) {
		work := p.clone()
		for range b.N {
			b.StopTimer()
			work.lo = append(work.lo[:0], p.lo...)
			work.his, work.at = append(work.his[:0], p.his...), append(work.at[:0], p.at...)
			b.StartTimer()
			work.remove(&o)
		}
	})
}

// aboveBySearch is run.above through sort.Search and a float a value: the reference aboveSecs is
// checked against.
func aboveBySearch(r run, v float64) int {
	return sort.Search(r.size(), func(i int) bool { return r.at(i) > v })
}

func TestAboveSecsMatchesSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 2, 7, 100, 1000} {
		secs := make([]uint32, n)
		for i := range secs {
			secs[i] = uint32(r.IntN(50))
			if r.IntN(10) == 0 {
				secs[i] = math.MaxUint32 - uint32(r.IntN(2))
			}
		}
		slices.Sort(secs)
		p := pack(secs)
		probes := []float64{math.NaN(), math.Inf(-1), -1, -0.5, 0, 0.5, 1, 49, 49.99, 50, math.MaxUint32 - 1, math.MaxUint32 - 0.5, math.MaxUint32, 1 << 33, math.Inf(1)}
		for range 50 {
			probes = append(probes, float64(r.IntN(60))-5+[]float64{0, 0.25, 0.999}[r.IntN(3)])
		}
		for _, v := range probes {
			if got, want := aboveSecs(&p, v), aboveBySearch(run{secs: &p}, v); got != want {
				t.Errorf("%d values, above %v: %d, want %d", n, v, got, want)
			}
		}
	}
}

// BenchmarkQuantileOf: the ranks of the median and p90 over 30 sets of 30,000 whole seconds each
// (a year's series made of many window sets), with the binary search by integers against
// sort.Search's (aboveBySearch) in the same run.
func BenchmarkQuantileOf(b *testing.B) {
	sets := benchSets(rand.New(rand.NewPCG(13, 14)))
	var runs []run
	for _, s := range sets {
		runs = s.runs(runs)
	}
	ks := []int64{30 * 30000 / 2, 30 * 30000 * 9 / 10}
	for _, k := range ks {
		if got, want := kth(runs, k), kthBy(runs, k, aboveBySearch); got != want {
			b.Fatalf("kth %d = %v, by sort.Search %v", k, got, want)
		}
	}
	b.Run("integers", func(b *testing.B) {
		for b.Loop() {
			for _, k := range ks {
				kth(runs, k)
			}
		}
	})
	b.Run("sort.Search", func(b *testing.B) {
		for b.Loop() {
			for _, k := range ks {
				kthBy(runs, k, aboveBySearch)
			}
		}
	})
}

// benchSets makes the quantile benchmarks' sets: 30 of 30,000 whole seconds each, settled (a
// year's series made of many window sets).
func benchSets(r *rand.Rand) []*Set {
	sets := make([]*Set, 30)
	for i := range sets {
		sets[i] = &Set{}
		for range 30000 {
			sets[i].Add(float64(r.IntN(1<<22)), 1)
		}
		sets[i].Settle()
	}
	return sets
}

// BenchmarkQuantileNear: the median, p90 and p99 over 30 sets of 30,000 whole seconds after one
// value changed (added, then taken out again, in turn), from the quantiles before the change
// (QuantileNear) against from nothing (QuantileOf), in the same run.
func BenchmarkQuantileNear(b *testing.B) {
	r := rand.New(rand.NewPCG(15, 16))
	sets := benchSets(r)
	qs := []float64{0.5, 0.9, 0.99}
	last := make([]float64, len(qs))
	for i, q := range qs {
		last[i] = QuantileOf(sets, q)
	}
	for _, near := range []bool{true, false} {
		name := "from the last"
		if !near {
			name = "from nothing"
		}
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				v := float64(r.IntN(1 << 22))
				sets[i%len(sets)].Add(v, 1)
				for j, q := range qs {
					if near {
						last[j] = QuantileNear(sets, q, last[j])
					} else {
						last[j] = QuantileOf(sets, q)
					}
				}
				sets[i%len(sets)].Add(v, -1)
				i++
			}
		})
	}
}

// kthBy is kth with run.above given: the baseline of BenchmarkQuantileOf.
func kthBy(runs []run, k int64, above func(run, float64) int) float64 {
	lo, hi := span(runs, func(f float64) uint64 { return uint64(f) })
	for lo < hi {
		mid := lo + (hi-lo)/2
		var c int64
		for _, r := range runs {
			c += int64(above(r, float64(mid)))
		}
		if c > k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return float64(lo)
}

// TestValuesWaitAsTheyWillBeKept: a whole number of seconds waits to be sorted in four bytes,
// any other value in eight, and a set merged unsettled into another keeps them so; quantiles
// over both are percentile_cont's.
func TestValuesWaitAsTheyWillBeKept(t *testing.T) {
	var a, b Set
	var all []float64
	for i := range 1000 {
		v := float64((i * 7919) % 1000)
		if i%10 == 0 {
			v += 0.5 // not a whole number: eight bytes
		}
		a.Add(v, 1)
		all = append(all, v)
	}
	if len(a.addedSecs) != 900 || len(a.added) != 100 {
		t.Fatalf("waiting: %d in four bytes, %d in eight; want 900 and 100", len(a.addedSecs), len(a.added))
	}
	b.Add(3, 2)
	b.Add(-1, 1)
	all = append(all, 3, 3, -1)
	b.Merge(&a, 1) // a is small beside nothing settled in b: through the buffers
	if len(b.addedSecs) != 902 || len(b.added) != 101 {
		t.Fatalf("merged, waiting: %d in four bytes, %d in eight; want 902 and 101", len(b.addedSecs), len(b.added))
	}
	for _, q := range []float64{0, 0.25, 0.5, 0.9, 1} {
		if got, want := b.Quantile(q), reference(all, q); got != want {
			t.Errorf("q%v = %v, percentile_cont %v", q, got, want)
		}
	}
}

// TestSortSecs: the radix sort orders as slices.Sort does, at sizes around the radix threshold
// and with values that fill either half of the word, repeat, or sit at its ends.
func TestSortSecs(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{0, 1, 2, radixSecs - 1, radixSecs, radixSecs + 1, 4000, 100000} {
		for _, gen := range []func() uint32{
			func() uint32 { return r.Uint32() },
			func() uint32 { return uint32(r.IntN(1 << 16)) },            // the high half empty
			func() uint32 { return uint32(r.IntN(1<<16)) << 16 },        // the low half empty
			func() uint32 { return uint32(r.IntN(5)) },                  // a few values, repeated
			func() uint32 { return math.MaxUint32 - uint32(r.IntN(3)) }, // the top of the range
			func() uint32 { return uint32(r.ExpFloat64() * 86400) },     // follow-up times
		} {
			a := make([]uint32, n)
			for i := range a {
				a[i] = gen()
			}
			want := slices.Sorted(slices.Values(a))
			sortSecs(a)
			if !slices.Equal(a, want) {
				t.Fatalf("%d values: sortSecs gave a different order than slices.Sort", n)
			}
		}
	}
}

// BenchmarkSortSecs: follow-up times, as a cold start settles them (sets of a few hundred to a
// million), sorted by radix against slices.Sort in the same run.
func BenchmarkSortSecs(b *testing.B) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{512, 2048, 8192, 1 << 20} {
		vals := make([]uint32, n)
		for i := range vals {
			vals[i] = uint32(r.ExpFloat64() * 86400)
		}
		work := make([]uint32, len(vals))
		for _, bc := range []struct {
			name string
			fn   func([]uint32)
		}{{"slices.Sort", slices.Sort[[]uint32]}, {"radix", sortSecs}} {
			b.Run(fmt.Sprintf("%d/%s", n, bc.name), func(b *testing.B) {
				for range b.N {
					copy(work, vals) // the values as they were added (timed for both: a memmove)
					bc.fn(work)
				}
			})
		}
	}
}
