// Package heaplimit keeps the Go runtime's soft memory limit (GOMEMLIMIT, or the one
// --auto-gomemlimit sets from the container's) a limit on the whole exporter.
//
// The tallies' stores keep their records outside the Go heap, in mapped blocks the runtime does
// not count (tally.MappedBytes): at a million leads some 75 MiB of about 125. A limit of 135 MiB
// meant for the process (90 % of a 150Mi container) would let the heap alone grow to it, and the
// blocks on top of it past the container's limit. So the runtime is given the limit less what
// is mapped, moved as the stores grow and shrink.
package heaplimit

import (
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/tandem-oss/tandem/tally"
)

// Step is how far the mapped memory moves before the runtime's limit follows: a store maps
// chunks of a MiB and grows its index by doubling, so this is a few updates per MiB of leads'
// records at most, each a lock of the runtime's heap.
const Step = 1 << 20

// Limiter gives the runtime total less what mapped reports, through set (debug.SetMemoryLimit).
type Limiter struct {
	total  int64
	mapped func() int64
	set    func(int64) int64

	mu   sync.Mutex
	last atomic.Int64 // mapped when the limit was last set
}

// New starts a limiter at total bytes for the whole process; Update sets the runtime's share.
func New(total int64, mapped func() int64, set func(int64) int64) *Limiter {
	l := &Limiter{total: total, mapped: mapped, set: set}
	l.last.Store(-2 * Step) // the first Update sets the limit
	return l
}

// Floor is the share of the total the heap keeps however much is mapped: past it the collector
// would run without pause for a heap it cannot shrink, where an OOM kill is the honest outcome.
const Floor = 4

// Limit is the runtime's limit for total bytes in all with mapped bytes outside the heap.
func Limit(total, mapped int64) int64 {
	return max(total-mapped, total/Floor)
}

// Update sets the runtime's limit from what is mapped now, once it has moved by Step since the
// last time. It is called as blocks are mapped and unmapped, from any goroutine.
func (l *Limiter) Update() {
	if d := l.mapped() - l.last.Load(); d < Step && d > -Step {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.mapped() // again: another caller may have set it meanwhile
	l.last.Store(m)
	l.set(Limit(l.total, m))
}

// Follow makes the memory limit in effect (GOMEMLIMIT, or the one --auto-gomemlimit set) a limit
// on the whole process: from now on the runtime is given it less tally.MappedBytes. It returns
// that limit, or 0 when there is none.
func Follow() int64 {
	total := debug.SetMemoryLimit(-1)
	if total <= 0 || total == math.MaxInt64 {
		return 0
	}
	l := New(total, tally.MappedBytes, debug.SetMemoryLimit)
	tally.OnMapped(l.Update)
	l.Update()
	return total
}
