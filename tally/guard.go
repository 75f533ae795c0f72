package tally

import (
	"math"

	"github.com/tandem-oss/tandem/metrics"
)

// Guard keeps counters monotonic across polls. Each poll recomputes a counter from the rows as
// they are now; if a series computes lower than at the previous poll (a hard-deleted row, a stage
// moved back, a lead moved to another label value), the difference is added to the series'
// offset, so the published value never falls, and the fall is counted as a regression. A series
// whose rows all vanish keeps being published at its last value. After a restart the guard is
// empty and counters are rebuilt from the database as it is.
type Guard struct {
	series map[string]map[string]*guarded // metric → series key → state
}

type guarded struct {
	labels  []string
	last    Sample // last observed (from rows)
	offset  Sample // accumulated falls
	pubF    float64
	pubSum  float64 // last published float values: never publish less, not even by a rounding bit
	buckets int
}

// NewGuard returns an empty guard.
func NewGuard() *Guard { return &Guard{series: map[string]map[string]*guarded{}} }

// Apply rewrites the snapshot's counters and histograms in place to their monotonic values and
// returns the number of series that fell, per metric.
func (g *Guard) Apply(s *Snapshot) map[string]int {
	falls := map[string]int{}
	for name, f := range s.Families {
		if f.Def.Type == metrics.Gauge {
			continue
		}
		state := g.series[name]
		if state == nil {
			state = map[string]*guarded{}
			g.series[name] = state
		}
		for k, x := range f.Series {
			st, ok := state[k]
			if !ok {
				st = &guarded{labels: x.Labels, buckets: len(x.Buckets)}
				st.offset.Buckets = make([]uint64, len(x.Buckets))
				state[k] = st
			} else if fell(&st.last, x) {
				falls[name]++
				accumulate(&st.offset, &st.last, x)
			}
			st.last = copySample(x)
			publish(x, &st.offset)
			st.clamp(x)
		}
		// Series with no rows left keep their value.
		for k, st := range state {
			if _, ok := f.Series[k]; ok {
				continue
			}
			if !isZero(&st.last) {
				falls[name]++
				zero := Sample{Buckets: make([]uint64, st.buckets)}
				accumulate(&st.offset, &st.last, &zero)
				st.last = zero
			}
			x := &Sample{Labels: st.labels, Buckets: make([]uint64, st.buckets), IsFloat: st.last.IsFloat}
			publish(x, &st.offset)
			st.clamp(x)
			f.Series[k] = x
		}
	}
	return falls
}

// floatFell tells a real fall of a float from the last bits of summing the same numbers in
// another order (map iteration order differs between polls).
func floatFell(last, now float64) bool {
	return now < last && last-now > 1e-9*math.Max(1, math.Abs(last))
}

// clamp keeps float values from falling below what was published last: sums of the same
// numbers in another order can differ in the last bit, and Prometheus reads any fall of a counter
// as a reset.
func (st *guarded) clamp(x *Sample) {
	x.F = math.Max(x.F, st.pubF)
	x.Sum = math.Max(x.Sum, st.pubSum)
	st.pubF, st.pubSum = x.F, x.Sum
}

func fell(last, now *Sample) bool {
	if now.N < last.N || floatFell(last.F, now.F) || now.Count < last.Count || floatFell(last.Sum, now.Sum) {
		return true
	}
	for i := range now.Buckets {
		if now.Buckets[i] < last.Buckets[i] {
			return true
		}
	}
	return false
}

// accumulate adds, field by field, how far now fell below last.
func accumulate(off, last, now *Sample) {
	if now.N < last.N {
		off.N += last.N - now.N
	}
	if floatFell(last.F, now.F) {
		off.F += last.F - now.F
	}
	if now.Count < last.Count {
		off.Count += last.Count - now.Count
	}
	if floatFell(last.Sum, now.Sum) {
		off.Sum += last.Sum - now.Sum
	}
	for i := range now.Buckets {
		if now.Buckets[i] < last.Buckets[i] {
			off.Buckets[i] += last.Buckets[i] - now.Buckets[i]
		}
	}
}

func publish(x, off *Sample) {
	x.N += off.N
	x.F += off.F
	x.Count += off.Count
	x.Sum += off.Sum
	var prev uint64
	for i := range x.Buckets {
		x.Buckets[i] += off.Buckets[i]
		if x.Buckets[i] < prev { // keep the histogram cumulative
			x.Buckets[i] = prev
		}
		prev = x.Buckets[i]
	}
	if len(x.Buckets) > 0 && x.Count < prev {
		x.Count = prev
	}
}

func copySample(x *Sample) Sample {
	c := *x
	c.Buckets = append([]uint64(nil), x.Buckets...)
	return c
}

func isZero(x *Sample) bool {
	if x.N != 0 || x.F != 0 || x.Count != 0 || x.Sum != 0 {
		return false
	}
	for _, b := range x.Buckets {
		if b != 0 {
			return false
		}
	}
	return true
}
