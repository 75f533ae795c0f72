package tally

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The compressed list reads back, searches and iterates exactly as a sorted []int64 does, for
// consecutive ids, sparse ones, hashed text ids (negative, spread over 2^63) and the ends of int64.
func TestIDList(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sets := map[string][]int64{
		"empty":       nil,
		"one":         {7},
		"consecutive": nil,
		"sparse":      nil,
		"text ids":    nil,
		"int64 ends":  {math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64},
	}
	for i := int64(1); i <= 1000; i++ {
		sets["consecutive"] = append(sets["consecutive"], i)
		sets["sparse"] = append(sets["sparse"], i*int64(1+r.IntN(100000)))
		sets["text ids"] = append(sets["text ids"], textLike(r))
	}
	for name, ids := range sets {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		var l idList
		for _, id := range ids {
			l.Append(id)
		}
		if l.Len() != len(ids) {
			t.Fatalf("%s: Len %d, want %d", name, l.Len(), len(ids))
		}
		for i, id := range ids {
			if got := l.At(i); got != id {
				t.Fatalf("%s: At(%d) = %d, want %d", name, i, got, id)
			}
			if j, ok := l.Search(id); !ok || j != i {
				t.Fatalf("%s: Search(%d) = %d, %v, want %d, true", name, id, j, ok, i)
			}
		}
		// Ids not in the list: where they would go, as slices.BinarySearch says.
		probes := []int64{math.MinInt64, math.MaxInt64, 0, -5, 1 << 40}
		for range 200 {
			probes = append(probes, int64(r.Uint64()), int64(r.IntN(2000)))
		}
		for _, id := range probes {
			wi, wok := slices.BinarySearch(ids, id)
			if i, ok := l.Search(id); i != wi || ok != wok {
				t.Fatalf("%s: Search(%d) = %d, %v, want %d, %v", name, id, i, ok, wi, wok)
			}
		}
		var seen []int64
		l.Each(func(i int, id int64) bool {
			if i != len(seen) {
				t.Fatalf("%s: Each gave index %d after %d ids", name, i, len(seen))
			}
			seen = append(seen, id)
			return true
		})
		if !slices.Equal(seen, ids) && len(ids) > 0 {
			t.Fatalf("%s: Each gave %d ids, not the list", name, len(seen))
		}
		l.clip()
		if len(ids) > 0 && l.At(len(ids)-1) != ids[len(ids)-1] {
			t.Fatalf("%s: clip lost the last id", name)
		}
	}
}

func textLike(r *rand.Rand) int64 { return int64(r.Uint64() | 1<<63) }

func TestIDListAppendOutOfOrderPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var l idList
	l.Append(5)
	l.Append(5)
}

func TestIDListEachFrom(t *testing.T) {
	var l idList
	var want []int64
	for i := range int64(3*idBlock + 5) {
		id := i*i + 3*i // gaps that grow: differences of one and of several bytes
		l.Append(id)
		want = append(want, id)
	}
	for _, from := range []int{0, 1, idBlock - 1, idBlock, idBlock + 7, 3 * idBlock, len(want) - 1, len(want), len(want) + 3} {
		var got []int64
		next := from
		l.EachFrom(from, func(i int, id int64) bool {
			if i != next {
				t.Fatalf("EachFrom(%d): index %d after %d", from, i, next-1)
			}
			next++
			got = append(got, id)
			return true
		})
		if w := want[min(from, len(want)):]; !slices.Equal(got, w) {
			t.Errorf("EachFrom(%d) = %v, want %v", from, got, w)
		}
	}
	n := 0
	l.EachFrom(idBlock-2, func(int, int64) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("EachFrom went on after its function said stop: %d calls", n)
	}
}
