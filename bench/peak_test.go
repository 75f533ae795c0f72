package bench_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/tally"
)

// peakProfiler writes a heap profile to path each time the live heap passes its highest so far
// by 5 %, until stop is called: what the file holds at the end is the heap at (about) its peak,
// which is where a cold start's memory goes. No-op when path is empty.
func peakProfiler(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	var peak uint64
	return every(20*time.Millisecond, func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc <= peak+peak/20 {
			return
		}
		peak = m.HeapAlloc
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0) //nolint:errcheck // best effort, a diagnostic
			f.Close()
		}
	})
}

// every calls fn every d until stop is called, which waits for a call under way to end.
func every(d time.Duration, fn func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			fn()
		}
	}()
	return func() { close(done); <-finished }
}

// cpuProfiler writes a CPU profile of what runs until stop is called to path (no-op when path
// is empty): TANDEM_BENCH_COLD_PROFILE profiles the cold start alone, TANDEM_BENCH_STEADY_PROFILE
// the steady-state polls alone, which a -cpuprofile of the whole run buries under the cold start. The generic SQL's time is in it
// too (waiting on the database: little CPU).
func cpuProfiler(b *testing.B, path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// peakLiveHeap follows the live heap (what the last garbage collection marked) and the stores'
// memory outside the heap (tally.MappedBytes) until stop is called, which returns the highest
// of each, in MiB: the live heap is the floor under the process's memory that a GOMEMLIMIT can
// bring the peak RSS down to, not below (the peak RSS is the limit plus the binary's pages once
// the limit is above it); the mapped memory comes on top of it.
func peakLiveHeap() (stop func() (heap, mapped float64)) {
	var peak, peakMapped uint64
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	stopped := every(5*time.Millisecond, func() {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
		peakMapped = max(peakMapped, uint64(tally.MappedBytes()))
	})
	return func() (float64, float64) {
		stopped()
		return float64(peak) / (1 << 20), float64(peakMapped) / (1 << 20)
	}
}

// cpuSeconds is what this process and the whole machine have spent on the CPU so far (user and
// system time; the machine's from /proc/stat, without idle, I/O wait and steal): a cold start
// on two cores is bound by them, the exporter's share and PostgreSQL's, and the wall time alone
// moves by a fifth within an hour on a shared virtual machine. Differences between two calls
// say where it went.
func cpuSeconds(b *testing.B) (process, machine float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return process, 0 // not Linux: the process's alone
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 8 || f[0] != "cpu" {
		b.Fatalf("unexpected /proc/stat: %q", line)
	}
	var ticks float64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			b.Fatal(err)
		}
		ticks += v
	}
	return process, ticks / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100
