//go:build unix

package tally

import (
	"bytes"
	"math/rand"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

// settledMapped collects the garbage and waits for the cleanups of the blocks it found dropped
// (they run on their own goroutine after the collection) until what is mapped no longer moves,
// or down to at most floor, and returns it.
func settledMapped(floor int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	last, same := int64(-1), 0
	for {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		m := MappedBytes()
		if m == last {
			same++
		} else {
			same = 0
		}
		if m <= floor || same >= 3 || time.Now().After(deadline) {
			return m
		}
		last = m
	}
}

// TestStoreRecordsLiveOutsideTheHeap: a store's records are in mapped blocks, not in the Go
// heap, read back as written, and unmapped once the store is dropped.
func TestStoreRecordsLiveOutsideTheHeap(t *testing.T) {
	base := settledMapped(-1) // earlier tests' stores gone
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const n, size = 40000, 200 // 8 MB of records: 8 chunks and more
	r := rand.New(rand.NewSource(1))
	recs := make([][]byte, n) // kept by the test, in the heap: counted apart below
	for i := range recs {
		recs[i] = make([]byte, size)
		r.Read(recs[i]) // incompressible: sealing keeps them about as large
	}
	var withRecs runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&withRecs)

	s := newTaggedLogStore()
	for i, rec := range recs {
		s.putTagged(int64(i+1), rec, uint32(i))
	}
	for i, rec := range recs {
		if got := s.recordOf(int64(i + 1)); !bytes.Equal(got, rec) {
			t.Fatalf("record %d read back differs", i+1)
		}
	}
	mapped := MappedBytes() - base
	if mapped < n*size {
		t.Fatalf("%d bytes mapped for %d bytes of records: the records are not in blocks", mapped, n*size)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(withRecs.HeapAlloc); grown > n*size/4 {
		t.Errorf("the heap grew by %d bytes for a store of %d bytes of records: they are in the heap", grown, n*size)
	}
	runtime.KeepAlive(&s)

	s = logStore{}
	if left := settledMapped(base); left > base {
		t.Errorf("%d bytes still mapped after the store was dropped (%d before it)", left, base)
	}
	runtime.KeepAlive(recs)
}

// TestOnMappedSeesBlocksComeAndGo: the watcher OnMapped sets hears of a block mapped and of it
// unmapped, with MappedBytes already counting the change (heaplimit reads it then).
func TestOnMappedSeesBlocksComeAndGo(t *testing.T) {
	before := settledMapped(-1) // no earlier test's block unmapped meanwhile
	var calls atomic.Int64
	var seen atomic.Int64
	OnMapped(func() { calls.Add(1); seen.Store(MappedBytes()) })
	defer OnMapped(nil)
	b := newBlock(3 * pageSize)
	if !b.mapped {
		t.Skip("no mapped blocks on this system")
	}
	if calls.Load() == 0 || seen.Load() < before+3*pageSize {
		t.Fatalf("after mapping: %d calls, saw %d bytes mapped (%d before)", calls.Load(), seen.Load(), before)
	}
	n := calls.Load()
	b.free()
	if calls.Load() == n {
		t.Fatal("not called when the block was unmapped")
	}
}

// TestStrictFreeFaultsOnStaleRecords: under StrictFree (on for this package's tests, TestMain), a
// record read from a chunk its store has since let go of faults when read, rather than reading
// memory the collector may unmap at any time; records of live chunks still read.
func TestStrictFreeFaultsOnStaleRecords(t *testing.T) {
	s := newLogStore()
	big := bytes.Repeat([]byte{7}, 4000)
	for id := int64(1); id <= 600; id++ { // about two chunks and a half
		s.putRecord(id, big)
	}
	if !s.chunks[0].mem.mapped {
		t.Skip("no mapped blocks on this system")
	}
	stale := s.recordOf(1) // in chunk 0
	for id := int64(1); s.lookup(id)>>chunkBits == 0; id++ {
		s.putRecord(id, []byte{1}) // small: chunk 0 dies without the log moving to another chunk
	}
	s.tidy() // chunk 0 is let go of for good
	if got := s.recordOf(1); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("record 1 reads %v after the rewrite", got[:min(len(got), 4)])
	}
	if got := s.recordOf(600); !bytes.Equal(got, big) {
		t.Fatal("a live record no longer reads as written")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	faulted := func() (faulted bool) {
		defer func() { faulted = recover() != nil }()
		sink = stale[0] // a read the compiler keeps
		return false
	}()
	if !faulted {
		t.Fatal("a record of a chunk let go of still reads")
	}
}

// sink keeps a read from being optimised away.
var sink byte
