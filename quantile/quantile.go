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

// Set is a multiset of values, kept as a sorted slice with repeats: eight bytes a value (a map
// of counts cost four times that, and follow-up times are nearly all distinct). Values added
// wait unsorted until a quantile or a removal needs the order.
type Set struct {
	vals  []float64 // sorted
	added []float64 // not yet merged into vals
	n     int64
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
		i, found := slices.BinarySearch(s.vals, v)
		if !found || i-int(k)-1 >= len(s.vals) || s.vals[i-int(k)-1] != v {
			panic("quantile: a value removed that was never added")
		}
		s.vals = slices.Delete(s.vals, i, i-int(k))
		s.n += k
	}
}

// Merge adds every value of o, sign times (+1 adds, -1 removes).
func (s *Set) Merge(o *Set, sign int64) {
	if sign > 0 {
		s.added = append(append(s.added, o.vals...), o.added...)
		s.n += o.n
		return
	}
	if o.n == 0 {
		return
	}
	// Removing: both in order, one pass.
	s.settle()
	o.settle()
	out := s.vals[:0]
	j := 0
	for _, v := range s.vals {
		if j < len(o.vals) && o.vals[j] == v {
			j++
			continue
		}
		if j < len(o.vals) && o.vals[j] < v {
			break // o holds a value s does not
		}
		out = append(out, v)
	}
	if j < len(o.vals) {
		panic("quantile: a value removed that was never added")
	}
	s.vals = out
	s.n -= o.n
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
	if len(s.vals) == 0 {
		s.vals, s.added = s.added, nil
		return
	}
	// Merge from the back into vals grown in place.
	a, b := len(s.vals)-1, len(s.added)-1
	s.vals = slices.Grow(s.vals, len(s.added))[:len(s.vals)+len(s.added)]
	for w := len(s.vals) - 1; b >= 0; w-- {
		if a >= 0 && s.vals[a] > s.added[b] {
			s.vals[w] = s.vals[a]
			a--
		} else {
			s.vals[w] = s.added[b]
			b--
		}
	}
	if cap(s.added) > 1024 {
		s.added = nil // a big merge's buffer is not kept for the next one
	} else {
		s.added = s.added[:0]
	}
}

// Len is the number of values, repeats included.
func (s *Set) Len() int64 { return s.n }

// Clone copies the set (without sorting it: a snapshot being published may be read meanwhile).
func (s *Set) Clone() *Set {
	return &Set{vals: slices.Clone(s.vals), added: slices.Clone(s.added), n: s.n}
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), NaN for an empty set.
func (s *Set) Quantile(q float64) float64 {
	if s.n == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	s.settle()
	return interpolate(q, s.n, func(k int64) float64 { return s.vals[k] })
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
			c += int64(sort.Search(len(s.vals), func(i int) bool { return s.vals[i] > v }))
		}
		return c
	}
	// Bisect between the least and the greatest value held (the greatest has all n ≤ it).
	var lo, hi uint64
	first := true
	for _, s := range sets {
		if len(s.vals) == 0 {
			continue
		}
		a, b := orderedBits(s.vals[0]), orderedBits(s.vals[len(s.vals)-1])
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
