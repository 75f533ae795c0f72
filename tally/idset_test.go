package tally

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIDSetMatchesMap: the set says, id by id, what a map says of the same ids (repeated ones,
// 0, negative ones, the extremes, ids that collide in the table, ids mostly in increasing
// order), through several doublings.
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
	// Mostly increasing, as rows read in a table's order: runs, with steps back, repeats of
	// earlier ids (in the run and out of it) and negative ones.
	var mostly []int64
	for i := range int64(20000) {
		switch {
		case i%97 == 0:
			mostly = append(mostly, i-r.Int64N(500)-250)
		case i%89 == 0 && len(mostly) > 0:
			mostly = append(mostly, mostly[r.IntN(len(mostly))])
		default:
			mostly = append(mostly, 2*i)
		}
	}
	cases["mostly increasing"] = mostly
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
			// Reset, the set is empty and works again as a new one.
			s.reset()
			if s.len() != 0 {
				t.Fatalf("len after reset = %d", s.len())
			}
			for id := range m {
				if !s.add(id) {
					t.Fatalf("%d is in the set after reset", id)
				}
			}
		})
	}
}

// BenchmarkIDSet adds 500,000 ids (a round of activities at a million leads is about 80,000)
// to an idSet, new or reset (as the rounds reuse one), and, as the baseline, to a map[int64]bool:
// in increasing order (a table filled in id order and read so) and shuffled.
func BenchmarkIDSet(b *testing.B) {
	inOrder := make([]int64, 500000)
	for i := range inOrder {
		inOrder[i] = int64(3*i + 1)
	}
	shuffled := slices.Clone(inOrder)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, order := range []struct {
		name string
		ids  []int64
	}{{"increasing", inOrder}, {"shuffled", shuffled}} {
		b.Run(order.name+"/idSet", func(b *testing.B) {
			for range b.N {
				var s idSet
				for _, id := range order.ids {
					s.add(id)
				}
			}
		})
		b.Run(order.name+"/idSet-reset", func(b *testing.B) { // a round's table, reused (LiveCRM.idSets)
			var s idSet
			for range b.N {
				s.reset()
				for _, id := range order.ids {
					s.add(id)
				}
			}
		})
		b.Run(order.name+"/map", func(b *testing.B) {
			for range b.N {
				m := map[int64]bool{}
				for _, id := range order.ids {
					m[id] = true
				}
			}
		})
	}
}
