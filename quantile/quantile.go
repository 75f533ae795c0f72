// Package quantile computes exact quantiles of a multiset of values that grows and shrinks: the
// median and p90 of follow-up times over a period's leads, kept as leads change. The definition is
// PostgreSQL's percentile_cont (continuous, linear interpolation between the two nearest ranks;
// Hyndman and Fan's type 7), so the published numbers equal an analyst's
// `percentile_cont(0.5) WITHIN GROUP (ORDER BY ...)` on the same rows.
package quantile

import (
	"math"
	"slices"
	"sort"
	"sync/atomic"
)

// Set is a multiset of values, kept as sorted slices with repeats (a map of counts cost several
// times as much, and follow-up times are nearly all distinct). A value that is a whole number in
// [0, 2^32), which durations between timestamps of whole seconds are, takes two bytes once
// sorted (secs, packed) and four while it waits; any other, eight (odd). Values added wait
// unsorted until a quantile or a removal needs the order: at a million leads, the values
// waiting as float64s were a fifth of a cold start's peak heap.
type Set struct {
	secs      packed    // sorted
	odd       []float64 // sorted: the values secs cannot hold
	addedSecs []uint32  // not yet merged into secs
	added     []float64 // not yet merged into odd
	n         int64
	gen       uint64 // the values' generation (Gen)
}

// gens numbers the changes of every set of the process: a change stamps its set with the next.
var gens atomic.Uint64

// changed stamps s with a generation no set has held.
func (s *Set) changed() { s.gen = gens.Add(1) }

// Gen identifies the values s holds: two sets of the same generation hold the same values (a
// clone keeps its original's), and a set that changes takes a generation no set has held. A
// caller that keeps a quantile of sets knows by their generations whether it still holds.
func (s *Set) Gen() uint64 { return s.gen }

// fits reports whether v is kept exactly in four bytes (-0 is not: it prints as -0).
func fits(v float64) bool {
	return v >= 0 && v < 1<<32 && v == math.Trunc(v) && !math.Signbit(v)
}

// run is one sorted slice of a settled set: its whole seconds (secs) or its other values.
type run struct {
	secs *packed
	vals []float64
}

func (r run) size() int {
	if r.vals != nil {
		return len(r.vals)
	}
	return r.secs.len()
}

func (r run) at(i int) float64 {
	if r.vals != nil {
		return r.vals[i]
	}
	return float64(r.secs.get(i))
}

// above is the index of the run's first value greater than v (its size if none is).
func (r run) above(v float64) int {
	if r.vals == nil {
		return aboveSecs(r.secs, v)
	}
	return sort.Search(len(r.vals), func(i int) bool { return r.vals[i] > v })
}

// under is the index of the run's first value not less than v: how many are under it.
func (r run) under(v float64) int {
	if v != v {
		return 0 // no value is less than NaN
	}
	if r.vals == nil {
		switch {
		case v <= 0:
			return 0 // whole seconds are never negative
		case v > math.MaxUint32:
			return r.secs.len()
		}
		return r.secs.above(uint32(math.Ceil(v)) - 1) // x < v exactly when x ≤ ⌈v⌉-1, x whole
	}
	return sort.Search(len(r.vals), func(i int) bool { return r.vals[i] >= v })
}

// aboveSecs is above for whole seconds, compared as integers: a quantile over many runs (the
// year's series is made of every window set that holds the year) bisects the values with a
// binary search a run at each step, which through sort.Search's closure and a float a value
// was most of a steady poll's time in quantiles (BenchmarkQuantileOf).
func aboveSecs(secs *packed, v float64) int {
	switch {
	case v != v: // NaN: no value is above it, as no comparison with it holds
		return secs.len()
	case v < 0:
		return 0
	case v >= math.MaxUint32:
		return secs.len()
	}
	return secs.above(uint32(v)) // the values are whole: x > v exactly when x > ⌊v⌋
}

// runs appends the set's sorted slices that hold values to out.
func (s *Set) runs(out []run) []run {
	if s.secs.len() > 0 {
		out = append(out, run{secs: &s.secs})
	}
	if len(s.odd) > 0 {
		out = append(out, run{vals: s.odd})
	}
	return out
}

// Add adds v k times (k < 0 removes it). A value removed more often than added is an error of
// the caller's and panics, so that a mistake in the live tally's bookkeeping cannot pass silently.
func (s *Set) Add(v float64, k int64) {
	switch {
	case k > 0:
		for ; k > 0; k-- {
			if fits(v) {
				s.addedSecs = append(s.addedSecs, uint32(v))
			} else {
				s.added = append(s.added, v)
			}
			s.n++
		}
		s.changed()
		s.bound()
	case k < 0:
		s.settle()
		if fits(v) {
			s.secs.deleteN(uint32(v), int(-k))
		} else {
			s.odd = deleteN(s.odd, v, int(-k))
		}
		s.n += k
		s.changed()
	}
}

// deleteN takes n repeats of v out of sorted vals.
func deleteN[T uint32 | float64](vals []T, v float64, n int) []T {
	i := sort.Search(len(vals), func(i int) bool { return float64(vals[i]) >= v })
	if j := i + n - 1; j >= len(vals) || float64(vals[i]) != v || float64(vals[j]) != v {
		panic("quantile: a value removed that was never added")
	}
	return slices.Delete(vals, i, i+n)
}

// Merge adds every value of o, sign times (+1 adds, -1 removes).
func (s *Set) Merge(o *Set, sign int64) {
	if sign > 0 && o.waiting() == 0 && o.n >= (s.n+3)/4 {
		// A settled set as large as a quarter of s or more (two halves of a count added up):
		// merged straight into s's sorted values. Going through added held every value of o
		// a second time as a float64 (twice its four bytes) until s settled.
		s.settle()
		s.secs.mergePacked(&o.secs)
		s.odd = mergeSorted(s.odd, o.odd)
		s.n += o.n
		s.changed()
		return
	}
	if sign > 0 {
		s.addedSecs = append(o.secs.appendTo(s.addedSecs), o.addedSecs...)
		s.added = append(append(s.added, o.odd...), o.added...)
		s.n += o.n
		s.changed()
		s.bound()
		return
	}
	if o.n == 0 {
		return
	}
	// Removing: both in order, one pass per slice.
	s.settle()
	o.settle()
	s.secs.remove(&o.secs)
	s.odd = remove(s.odd, o.odd)
	s.n -= o.n
	s.changed()
}

// remove takes the sorted values of o out of the sorted vals, in place: each found by binary
// search from the last, the values between moved down by copy. A poll takes a changed lead's old
// values out of sets of a million values; comparing every value of the set on the way, as a merge
// does, was most of a steady poll's CPU in the sets (BenchmarkRemove).
func remove[T, U uint32 | float64](vals []T, o []U) []T {
	w, r := 0, 0 // vals[:w] kept; vals[r:] still to read
	for _, x := range o {
		v := float64(x)
		rest := vals[r:]
		i := r + sort.Search(len(rest), func(i int) bool { return float64(rest[i]) >= v })
		if i == len(vals) || float64(vals[i]) != v {
			panic("quantile: a value removed that was never added")
		}
		w += copy(vals[w:], vals[r:i])
		r = i + 1
	}
	w += copy(vals[w:], vals[r:])
	return vals[:w]
}

// bound settles the values added once they are a quarter as many as the sorted ones, and at
// least settleMin: unsorted, a value takes eight bytes, twice a sorted one's four. A cold start
// numbers a million leads in rounds, each merging its values into a total of its own: those
// waited unsorted until the end, 26 MB of a cold start's peak heap. Settling when the backlog
// has grown by a quarter copies each value a few times in all, as a slice growing does.
func (s *Set) bound() {
	if s.waiting() >= max(settleMin, (s.secs.len()+len(s.odd))/4) {
		s.settle()
	}
}

const settleMin = 4096

// Settle sorts the values added since the last call into the others. Quantile and Clone then
// only read a settled set, so that readers can share it while no one adds to it.
func (s *Set) Settle() { s.settle() }

// waiting is how many values were added and are not yet sorted.
func (s *Set) waiting() int { return len(s.addedSecs) + len(s.added) }

// settle merges the values added into the sorted ones.
func (s *Set) settle() {
	if len(s.addedSecs) > 0 {
		sortSecs(s.addedSecs)
		s.secs.merge(s.addedSecs)
		s.addedSecs = emptied(s.addedSecs)
	}
	if len(s.added) > 0 {
		slices.Sort(s.added)
		s.odd = mergeSorted(s.odd, s.added)
		s.added = emptied(s.added)
	}
}

// radixSecs is the fewest values sortSecs sorts by radix: below it, slices.Sort is as quick
// (512 values: 3.3 µs either way).
const radixSecs = 1024

// sortSecs sorts whole seconds in place: by radix, a pass for each byte through a scratch copy,
// skipping a byte every value shares (the top one, for values under 2^24 s). A cold start
// settles many sets of a few thousand to a million values at once: slices.Sort took 16 µs for
// 2,048 values, 0.42 ms for 8,192 and 86 ms for a million, where the radix sort takes 11 µs,
// 45 µs and 5.2 ms (BenchmarkSortSecs). In a million leads' cold start, these sorts were 0.16-0.18 s
// of the exporter's CPU, and no longer show in its profile.
func sortSecs(a []uint32) {
	if len(a) < radixSecs {
		slices.Sort(a)
		return
	}
	var counts [4][256]uint32
	for _, v := range a {
		counts[0][v&0xff]++
		counts[1][v>>8&0xff]++
		counts[2][v>>16&0xff]++
		counts[3][v>>24]++
	}
	src, dst := a, make([]uint32, len(a))
	for p := range counts {
		shift := uint(8 * p)
		c := &counts[p]
		if c[a[0]>>shift&0xff] == uint32(len(a)) {
			continue // every value has this byte: the pass would move none
		}
		// where each byte's values start; each pass is stable, so the order of the bytes
		// passed before is kept among equal ones
		var start uint32
		for i, n := range c {
			c[i] = start
			start += n
		}
		for _, v := range src {
			d := v >> shift & 0xff
			dst[c[d]] = v
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

// emptied is a merged buffer emptied for the next values: a big merge's is not kept.
func emptied[T any](b []T) []T {
	if cap(b) > 1024 {
		return nil
	}
	return b[:0]
}

// mergeSorted merges the sorted added values into the sorted vals, from the back, in vals grown
// with a sixteenth to spare (a set holds a period's values for as long as the period is shown;
// append's growth would leave up to a quarter unused, and exactly none would copy the set at
// every poll that adds a value).
func mergeSorted[T, U uint32 | float64](vals []T, added []U) []T {
	if len(added) == 0 {
		return vals
	}
	n := len(vals) + len(added)
	if n > cap(vals) {
		grown := make([]T, len(vals), n+n/16)
		copy(grown, vals)
		vals = grown
	}
	a, b := len(vals)-1, len(added)-1
	vals = vals[:n]
	for w := n - 1; b >= 0; w-- {
		if a >= 0 && float64(vals[a]) > float64(added[b]) {
			vals[w] = vals[a]
			a--
		} else {
			vals[w] = T(added[b])
			b--
		}
	}
	return vals
}

// Equal reports whether s and o hold the same values, repeats included, whatever their
// generations (it settles both).
func (s *Set) Equal(o *Set) bool {
	s.settle()
	o.settle()
	return s.n == o.n && s.secs.equal(&o.secs) && slices.Equal(s.odd, o.odd)
}

// Len is the number of values, repeats included.
func (s *Set) Len() int64 { return s.n }

// Clone copies the set (without sorting it: a snapshot being published may be read meanwhile).
func (s *Set) Clone() *Set {
	return &Set{secs: s.secs.clone(), odd: slices.Clone(s.odd), addedSecs: slices.Clone(s.addedSecs), added: slices.Clone(s.added), n: s.n, gen: s.gen}
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), NaN for an empty set.
func (s *Set) Quantile(q float64) float64 { return QuantileOf([]*Set{s}, q) }

// interpolate is percentile_cont over n values, the k-th smallest (from 0) being at(k).
func interpolate(q float64, n int64, at func(k int64) float64) float64 {
	h := q * float64(n-1)
	lo := int64(math.Floor(h))
	a := at(lo)
	if frac := h - float64(lo); frac > 0 {
		return a + frac*(at(lo+1)-a)
	}
	return a
}

// QuantileOf returns the q-quantile of the union of sets (repeats counting as often as they are
// held), NaN when they are all empty: the quantile over every team of a metric kept per team,
// without a second copy of the values. The sets are settled (read only after that).
func QuantileOf(sets []*Set, q float64) float64 { return QuantileNear(sets, q, math.NaN()) }

// QuantileNear is QuantileOf starting from a value the quantile is likely near: the one it was
// before a few values changed (NaN for none). A steady poll changes a few values of sets of
// hundreds of thousands: the value at the quantile's rank is then most often the one it was, or
// its neighbour, which a few counts find, where a bisection from the whole range of values takes
// a few dozen (BenchmarkQuantileNear). The result is QuantileOf's whatever near is.
func QuantileNear(sets []*Set, q, near float64) float64 {
	var n int64
	var runs []run
	for _, s := range sets {
		s.settle()
		n += s.n
		runs = s.runs(runs)
	}
	if n == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	if len(runs) == 1 {
		return interpolate(q, n, func(k int64) float64 { return runs[0].at(int(k)) })
	}
	// The two ranks percentile_cont interpolates between are neighbours: the second is the
	// first again while it repeats, else the least value above it (one binary search a run).
	var lo float64
	var loK int64 = -1
	return interpolate(q, n, func(k int64) float64 {
		if loK >= 0 && k == loK+1 {
			if atMost(runs, lo) > k {
				return lo
			}
			next := math.Inf(1)
			for _, r := range runs {
				if i := r.above(lo); i < r.size() {
					next = min(next, r.at(i))
				}
			}
			return next
		}
		lo, loK = kthNear(runs, k, near), k
		return lo
	})
}

// nearSteps is how many held values kthNear steps through from its start before it bisects.
const nearSteps = 4

// kthNear is kth, looking first at the held values next to near (kth's answer is the least
// value with more than k values at most it).
func kthNear(runs []run, k int64, near float64) float64 {
	if near != near {
		return kth(runs, k)
	}
	if atMost(runs, near) > k {
		// The answer is at most near: the greatest value held at most near, or one below it.
		v := math.Inf(-1)
		for _, r := range runs {
			if i := r.above(near); i > 0 {
				v = max(v, r.at(i-1))
			}
		}
		for range nearSteps {
			c, below := int64(0), math.Inf(-1) // the values under v, and the greatest of them
			for _, r := range runs {
				i := r.under(v)
				c += int64(i)
				if i > 0 {
					below = max(below, r.at(i-1))
				}
			}
			if c <= k {
				return plusZero(v)
			}
			v = below
		}
		return kth(runs, k)
	}
	// The answer is above near: the least value held above it, or one above that.
	v := near
	for range nearSteps {
		next, found := math.Inf(1), false
		for _, r := range runs {
			if i := r.above(v); i < r.size() {
				next, found = min(next, r.at(i)), true
			}
		}
		if !found {
			break
		}
		if v = next; atMost(runs, v) > k {
			return plusZero(v)
		}
	}
	return kth(runs, k)
}

// plusZero returns v, +0 for -0: they are one value, which kth returns as +0.
func plusZero(v float64) float64 {
	if v == 0 {
		return 0
	}
	return v
}

// atMost is how many values of the runs are ≤ v.
func atMost(runs []run, v float64) int64 {
	var c int64
	for _, r := range runs {
		c += int64(r.above(v))
	}
	return c
}

// kth returns the k-th smallest value (from 0) of the union of sorted runs: the least v with
// more than k values ≤ v, found by bisecting, between the least and the greatest value held (the
// greatest has all n ≤ it), integers in the values' order: the values themselves when all are
// whole seconds (a few dozen steps fewer), else the floats' bits (64 steps at most). Each step is
// a binary search per run.
func kth(runs []run, k int64) float64 {
	key, value := orderedBits, fromOrderedBits
	if !slices.ContainsFunc(runs, func(r run) bool { return r.vals != nil }) {
		key = func(f float64) uint64 { return uint64(f) }
		value = func(u uint64) float64 { return float64(u) }
	}
	lo, hi := span(runs, key)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if atMost(runs, value(mid)) > k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	v := value(lo)
	if v == 0 {
		v = 0 // -0 and +0 are one value
	}
	return v
}

// span returns the least and the greatest value of sorted runs, as keys (kth's bisection bounds).
func span(runs []run, key func(float64) uint64) (lo, hi uint64) {
	for i, r := range runs {
		a, b := key(r.at(0)), key(r.at(r.size()-1))
		if i == 0 || a < lo {
			lo = a
		}
		if i == 0 || b > hi {
			hi = b
		}
	}
	return lo, hi
}

// orderedBits maps a float to an integer of the same order (negative floats below positive).
func orderedBits(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderedBits(u uint64) float64 {
	if u>>63 != 0 {
		return math.Float64frombits(u &^ (1 << 63))
	}
	return math.Float64frombits(^u)
}
