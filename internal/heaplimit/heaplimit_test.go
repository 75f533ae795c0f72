package heaplimit

import (
	"sync"
	"testing"
)

func TestLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name          string
		total, mapped int64
		want          int64
	}{
		{"nothing mapped", 135 * mib, 0, 135 * mib},
		{"a million leads' stores", 135 * mib, 75 * mib, 60 * mib},
		{"mapped past the floor", 100 * mib, 90 * mib, 25 * mib},
		{"mapped past the total", 100 * mib, 200 * mib, 25 * mib},
	} {
		if got := Limit(c.total, c.mapped); got != c.want {
			t.Errorf("%s: Limit(%d, %d) = %d, want %d", c.name, c.total, c.mapped, got, c.want)
		}
	}
}

// TestUpdateFollowsTheMappedMemory: the runtime's limit is set at the first update, then only
// once the mapped memory has moved by Step either way, always to the total less what is mapped.
func TestUpdateFollowsTheMappedMemory(t *testing.T) {
	const total = 200 * Step
	var mapped int64
	var sets []int64
	l := New(total, func() int64 { return mapped }, func(n int64) int64 { sets = append(sets, n); return 0 })
	steps := []struct {
		mapped int64
		want   []int64 // the limits set so far
	}{
		{0, []int64{total}},
		{Step / 2, []int64{total}},
		{Step, []int64{total, total - Step}},
		{Step + Step/2, []int64{total, total - Step}},
		{40 * Step, []int64{total, total - Step, total - 40*Step}},
		{39*Step + 1, []int64{total, total - Step, total - 40*Step}},
		{39 * Step, []int64{total, total - Step, total - 40*Step, total - 39*Step}},
		{190 * Step, []int64{total, total - Step, total - 40*Step, total - 39*Step, total / Floor}},
	}
	for i, s := range steps {
		mapped = s.mapped
		l.Update()
		if len(sets) != len(s.want) {
			t.Fatalf("step %d (mapped %d): limits set %v, want %v", i, s.mapped, sets, s.want)
		}
		for j := range sets {
			if sets[j] != s.want[j] {
				t.Fatalf("step %d (mapped %d): limits set %v, want %v", i, s.mapped, sets, s.want)
			}
		}
	}
}

// TestConcurrentUpdatesEndOnTheLast: updates from many goroutines leave the limit at what the
// last of them saw mapped (run with -race).
func TestConcurrentUpdatesEndOnTheLast(t *testing.T) {
	const total = 1000 * Step
	var mu sync.Mutex
	mapped, limit := int64(0), int64(0)
	l := New(total, func() int64 { mu.Lock(); defer mu.Unlock(); return mapped },
		func(n int64) int64 { mu.Lock(); defer mu.Unlock(); limit = n; return 0 })
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				mu.Lock()
				mapped += Step
				mu.Unlock()
				l.Update()
			}
		}()
	}
	wg.Wait()
	l.Update()
	if want := Limit(total, 800*Step); limit != want {
		t.Errorf("limit %d after every update, want %d", limit, want)
	}
}
