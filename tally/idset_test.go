package tally

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestIDSetMatchesMap: the set says, id by id, what a map says of the same ids (repeated ones,
// 0, negative ones, the extremes, ids that collide in the table), through several doublings.
func TestIDSetMatchesMap(t *testing.T) {
	cases := map[string][]int64{
		"empty":   nil,
		"zero":    {0, 0, 1, 0},
		"extreme": {math.MinInt64, math.MaxInt64, -1, 1, math.MinInt64, math.MaxInt64, -1},
		// Multiples of 2^56 all hash to a few slots of a small table: long probe runs.
		"colliding": func() []int64 {
			var ids []int64
			for i := range int64(600) {
				ids = append(ids, i<<56, (i%7)<<56)
			}
			return ids
		}(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{10, 1000, 100000} {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = r.Int64N(int64(n)) - int64(n/3) // about a third repeated, some negative
		}
		cases[fmt.Sprintf("random %d", n)] = ids
	}
	for name, ids := range cases {
		t.Run(name, func(t *testing.T) {
			var s idSet
			m := map[int64]bool{}
			for i, id := range ids {
				if got, want := s.add(id), !m[id]; got != want {
					t.Fatalf("add #%d (%d) = %v, want %v", i, id, got, want)
				}
				m[id] = true
			}
			if s.len() != len(m) {
				t.Errorf("len = %d, want %d", s.len(), len(m))
			}
			for id := range m {
				if s.add(id) {
					t.Fatalf("%d is not in the set", id)
				}
			}
		})
	}
}
