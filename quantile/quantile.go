// Package quantile computes exact quantiles of a multiset of values that grows and shrinks: the
// median and p90 of follow-up times over a period's leads, kept as leads change. The definition is
// PostgreSQL's percentile_cont (continuous, linear interpolation between the two nearest ranks;
// Hyndman and Fan's type 7), so the published numbers equal an analyst's
// `percentile_cont(0.5) WITHIN GROUP (ORDER BY ...)` on the same rows.
package quantile

import (
	"math"
	"slices"
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
	s.added = s.added[:0]
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
	h := q * float64(s.n-1)
	lo := int64(math.Floor(h))
	a := s.vals[lo]
	if frac := h - float64(lo); frac > 0 {
		return a + frac*(s.vals[lo+1]-a)
	}
	return a
}
