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

// Set is a multiset of values.
type Set struct {
	counts map[float64]int64
	n      int64
	sorted []float64 // distinct values in order; nil when stale
}

// Add adds v k times (k < 0 removes it). A value removed more often than added is an error of
// the caller's and panics, so that a mistake in the live tally's bookkeeping cannot pass silently.
func (s *Set) Add(v float64, k int64) {
	if k == 0 {
		return
	}
	if s.counts == nil {
		s.counts = map[float64]int64{}
	}
	c := s.counts[v] + k
	switch {
	case c < 0:
		panic("quantile: a value removed that was never added")
	case c == 0:
		delete(s.counts, v)
		s.sorted = nil
	default:
		if s.counts[v] == 0 {
			s.sorted = nil
		}
		s.counts[v] = c
	}
	s.n += k
}

// Merge adds every value of o, sign times (+1 adds, -1 removes).
func (s *Set) Merge(o *Set, sign int64) {
	for v, c := range o.counts {
		s.Add(v, sign*c)
	}
}

// Len is the number of values, repeats included.
func (s *Set) Len() int64 { return s.n }

// Clone copies the set.
func (s *Set) Clone() *Set {
	c := &Set{counts: make(map[float64]int64, len(s.counts)), n: s.n}
	for v, k := range s.counts {
		c.counts[v] = k
	}
	return c
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1), NaN for an empty set.
func (s *Set) Quantile(q float64) float64 {
	if s.n == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	if s.sorted == nil {
		s.sorted = make([]float64, 0, len(s.counts))
		for v := range s.counts {
			s.sorted = append(s.sorted, v)
		}
		slices.Sort(s.sorted)
	}
	h := q * float64(s.n-1)
	lo := int64(math.Floor(h))
	a := s.rank(lo)
	if frac := h - float64(lo); frac > 0 {
		return a + frac*(s.rank(lo+1)-a)
	}
	return a
}

// rank is the value at 0-based rank r (repeats counted).
func (s *Set) rank(r int64) float64 {
	for _, v := range s.sorted {
		if r < s.counts[v] {
			return v
		}
		r -= s.counts[v]
	}
	return s.sorted[len(s.sorted)-1]
}
