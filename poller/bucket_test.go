package poller

import (
	"math"
	"testing"
)

// The reconciliation's ranges (id >> shift): about digestBucket dense ids each, never more
// ranges between the first id and the last than one per digestBucket ids (plus one), whatever
// the ids: sparse, negative, at the ends of int64.
func TestBucketShift(t *testing.T) {
	seq := func(from, n, step int64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = from + int64(i)*step
		}
		return out
	}
	cases := []struct {
		name string
		ids  []int64
	}{
		{"none", nil},
		{"one", []int64{42}},
		{"dense from 1", seq(1, 100_000, 1)},
		{"dense, large ids", seq(1<<40, 50_000, 1)},
		{"sparse", seq(7, 10_000, 1_000_003)},
		{"across zero", seq(-5_000, 10_000, 1)},
		{"the ends of int64", []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}},
	}
	for _, c := range cases {
		if len(c.ids) == 0 {
			if s := bucketShift(0, 0, 0); s != 0 {
				t.Errorf("%s: shift %d", c.name, s)
			}
			continue
		}
		s := bucketShift(len(c.ids), c.ids[0], c.ids[len(c.ids)-1])
		ranges := map[int64]bool{}
		for _, id := range c.ids {
			ranges[id>>s] = true
		}
		span := c.ids[len(c.ids)-1]>>s - c.ids[0]>>s + 1 // ranges between the ends, empty ones too
		if limit := int64(len(c.ids)/digestBucket + 2); span > limit || span < 1 {
			t.Errorf("%s: shift %d makes %d ranges between the ends, want 1..%d", c.name, s, span, limit)
		}
		if c.name == "dense from 1" {
			per := len(c.ids) / len(ranges)
			if per < digestBucket/2 || per > 2*digestBucket {
				t.Errorf("%s: %d ids a range, want about %d", c.name, per, digestBucket)
			}
		}
	}
}
