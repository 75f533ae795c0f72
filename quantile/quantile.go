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
)

// Set is a multiset of values, kept as a sorted slice with repeats (a map of counts cost several
// times as much, and follow-up times are nearly all distinct). While every value is a whole
// number in [0, 2^32), which durations between timestamps of whole seconds are, the slice holds
// four bytes a value; the first value that is not widens it to eight. Values added wait
// unsorted until a quantile or a removal needs the order.
type Set struct {
	secs  []uint32  // sorted, while !wide
	vals  []float64 // sorted, once wide
	wide  bool
	added []float64 // not yet merged into the sorted ones
	n     int64
}

// fits reports whether v is kept exactly in four bytes (-0 is not: it prints as -0).
func fits(v float64) bool {
	return v >= 0 && v < 1<<32 && v == math.Trunc(v) && !math.Signbit(v)
}

// size is the number of sorted values; at is the i-th of them.
func (s *Set) size() int {
	if s.wide {
		return len(s.vals)
	}
	return len(s.secs)
}

func (s *Set) at(i int) float64 {
	if s.wide {
		return s.vals[i]
	}
	return float64(s.secs[i])
}

// sorted appends the sorted values to b.
func (s *Set) sorted(b []float64) []float64 {
	if s.wide {
		return append(b, s.vals...)
	}
	for _, v := range s.secs {
		b = append(b, float64(v))
	}
	return b
}

// widen moves the sorted values to eight bytes each.
func (s *Set) widen() {
	if !s.wide {
		s.vals, s.secs, s.wide = s.sorted(make([]float64, 0, len(s.secs))), nil, true
	}
}

// Add adds v k times (k < 0 removes it). A value removed more often than added is an error of
// the caller's and panics, so that a mistake in the live tally's bookkeeping cannot pass silently.
func (s *Set) Add(v float64, k int64) {
	switch {
	case k > 0:
		for ; k > 0; k-- {
			s.added = append(s.added, v)
			s.n++
		}
	case k < 0:
		s.settle()
		i := sort.Search(s.size(), func(i int) bool { return s.at(i) >= v })
		if j := i - int(k) - 1; j >= s.size() || s.at(i) != v || s.at(j) != v {
			panic("quantile: a value removed that was never added")
		}
		if s.wide {
			s.vals = slices.Delete(s.vals, i, i-int(k))
		} else {
			s.secs = slices.Delete(s.secs, i, i-int(k))
		}
		s.n += k
	}
}

// Merge adds every value of o, sign times (+1 adds, -1 removes).
func (s *Set) Merge(o *Set, sign int64) {
	if sign > 0 {
		s.added = append(o.sorted(s.added), o.added...)
		s.n += o.n
		return
	}
	if o.n == 0 {
		return
	}
	// Removing: both in order, one pass.
	s.settle()
	o.settle()
	out := o.sorted(nil)
	if s.wide {
		s.vals = remove(s.vals, out)
	} else {
		s.secs = remove(s.secs, out)
	}
	s.n -= o.n
}

// remove takes the sorted values of o out of the sorted vals, in place.
func remove[T uint32 | float64](vals []T, o []float64) []T {
	out := vals[:0]
	j := 0
	for _, v := range vals {
		if j < len(o) && o[j] == float64(v) {
			j++
			continue
		}
		if j < len(o) && o[j] < float64(v) {
			break // o holds a value s does not
		}
		out = append(out, v)
	}
	if j < len(o) {
		panic("quantile: a value removed that was never added")
	}
	return out
}

// Settle sorts the values added since the last call into the others. Quantile and Clone then
// only read a settled set, so that readers can share it while no one adds to it.
func (s *Set) Settle() { s.settle() }

// settle merges the values added into the sorted ones.
func (s *Set) settle() {
	if len(s.added) == 0 {
		return
	}
	slices.Sort(s.added)
	if !s.wide {
		for _, v := range s.added {
			if !fits(v) {
				s.widen()
				break
			}
		}
	}
	if s.wide {
		s.vals = mergeSorted(s.vals, s.added)
	} else {
		s.secs = mergeSorted(s.secs, s.added)
	}
	if cap(s.added) > 1024 {
		s.added = nil // a big merge's buffer is not kept for the next one
	} else {
		s.added = s.added[:0]
	}
}

// mergeSorted merges the sorted added values into the sorted vals, from the back, in vals grown
// with a sixteenth to spare (a set holds a period's values for as long as the period is shown;
// append's growth would leave up to a quarter unused, and exactly none would copy the set at
// every poll that adds a value).
func mergeSorted[T uint32 | float64](vals []T, added []float64) []T {
	n := len(vals) + len(added)
	if n > cap(vals) {
		grown := make([]T, len(vals), n+n/16)
		copy(grown, vals)
		vals = grown
	}
	a, b := len(vals)-1, len(added)-1
	vals = vals[:n]
	for w := n - 1; b >= 0; w-- {
		if a >= 0 && float64(vals[a]) > added[b] {
			vals[w] = vals[a]
			a--
		} else {
			vals[w] = T(added[b])
			b--
		}
	}
	return vals
}

// Len is the number of values, repeats included.
func (s *Set) Len() int64 { return s.n }

// Clone copies the set (without sorting it: a snapshot being published may be read meanwhile).
func (s *Set) Clone() *Set {
	return &Set{secs: slices.Clone(s.secs), vals: slices.Clone(s.vals), wide: s.wide, added: slices.Clone(s.added), n: s.n}
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), NaN for an empty set.
func (s *Set) Quantile(q float64) float64 {
	if s.n == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	s.settle()
	return interpolate(q, s.n, func(k int64) float64 { return s.at(int(k)) })
}

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
func QuantileOf(sets []*Set, q float64) float64 {
	var n int64
	for _, s := range sets {
		s.settle()
		n += s.n
	}
	if n == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	if len(sets) == 1 {
		return sets[0].Quantile(q)
	}
	return interpolate(q, n, func(k int64) float64 { return kth(sets, k) })
}

// kth returns the k-th smallest value (from 0) of the union of settled sets: the least v
// with more than k values ≤ v, found by bisecting the floats in their order as integers (64
// steps at most, each a binary search per set).
func kth(sets []*Set, k int64) float64 {
	atMost := func(v float64) int64 {
		var c int64
		for _, s := range sets {
			c += int64(sort.Search(s.size(), func(i int) bool { return s.at(i) > v }))
		}
		return c
	}
	// Bisect between the least and the greatest value held (the greatest has all n ≤ it).
	var lo, hi uint64
	first := true
	for _, s := range sets {
		if s.size() == 0 {
			continue
		}
		a, b := orderedBits(s.at(0)), orderedBits(s.at(s.size()-1))
		if first || a < lo {
			lo = a
		}
		if first || b > hi {
			hi = b
		}
		first = false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if atMost(fromOrderedBits(mid)) > k {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	v := fromOrderedBits(lo)
	if v == 0 {
		v = 0 // -0 and +0 are one value
	}
	return v
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
