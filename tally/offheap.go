package tally

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// The live tallies' stores (logStore) keep their records outside the Go heap, in blocks of
// memory mapped from the kernel. They are most of what the exporter holds (some 60 B a lead of
// about 100), and the garbage collector sizes the heap it lets grow between two collections to
// the heap it found live, twice it by default: kept in the heap, every byte of records cost two
// of peak memory in a cold start, and a million leads' cold start peaked at 220 MiB for 100 MiB
// live. Outside it, a byte costs one, and the collector has only the poll's own working memory
// to scan and pace. Records hold no pointers, which is what makes this possible.
//
// A block is unmapped once the garbage collector finds its *block unreachable (a cleanup), not
// by hand: a chunk holds its block, so a store dropped whole (a full recount's replacing it)
// gives back its blocks without anyone freeing them, and no block is unmapped while a chunk
// still points to it. A record read from a block (logStore.record) is valid while its store is
// reachable, which the store's readers are (they read it through the store).

// block is memory outside the Go heap; b is all of it.
type block struct {
	b       []byte
	cleanup runtime.Cleanup
	mapped  bool // false: a slice of the heap (mapping failed)
}

// newBlock maps n bytes. Pages are backed by memory only once written to, so a chunk's block is
// mapped at its full size at once. Where mapping fails (or on a system without it), the block
// is an ordinary slice of the heap.
func newBlock(n int) *block { return mapNew(n, false) }

// newFilledBlock is newBlock for a block about to be written whole (a sealed chunk, copied in at
// its size): its pages are backed by memory as it is mapped (MAP_POPULATE on Linux), not one
// fault at a time as the copy reaches them. In a million leads' cold start, those faults were
// 0.15 s of the exporter's CPU, under the copy that met them.
func newFilledBlock(n int) *block { return mapNew(n, true) }

func mapNew(n int, filled bool) *block {
	m, err := mapBlock(n, filled)
	if err != nil || m == nil {
		return &block{b: make([]byte, n)}
	}
	mapped.Add(int64(len(m)))
	mappedChanged()
	b := &block{b: m, mapped: true}
	b.cleanup = runtime.AddCleanup(b, unmap, m)
	return b
}

// free unmaps a block at once, for its one owner that knows nothing else points into it (words
// it outgrew); nil is freed.
func (b *block) free() {
	if b == nil || b.b == nil {
		return
	}
	if b.mapped {
		b.cleanup.Stop()
		unmap(b.b)
	}
	b.b = nil
}

// letGo marks a block its store will not read again (a chunk emptied for good, a sealed chunk's
// frames dropped). The collector unmaps it later; under StrictFree it is made unreadable at once.
func (b *block) letGo() {
	if b != nil && b.mapped && strict.Load() {
		protectBlock(b.b)
	}
}

// strict is StrictFree's switch.
var strict atomic.Bool

// StrictFree is for tests: from then on, a block a store lets go of is made unreadable at once
// rather than unmapped once the collector finds it unreachable. A record read from such a block
// is valid only until its store lets the block go; a reader that kept one across a change of the
// store would fault only when a collection happened to come between, rarely, in production.
// Under StrictFree it faults in the test that did it.
func StrictFree() { strict.Store(true) }

// mapped is how many bytes of blocks are mapped.
var mapped atomic.Int64

func unmap(m []byte) {
	unmapBlock(m)
	mapped.Add(-int64(len(m)))
	mappedChanged()
}

// watcher is called whenever blocks are mapped or unmapped (OnMapped).
var watcher atomic.Pointer[func()]

func mappedChanged() {
	if f := watcher.Load(); f != nil {
		(*f)()
	}
}

// OnMapped has f called whenever a store maps or unmaps a block, on the goroutine that did (the
// runtime's memory limit follows MappedBytes with it: heaplimit); nil stops it. f must be quick
// and safe to call from many goroutines at once.
func OnMapped(f func()) {
	if f == nil {
		watcher.Store(nil)
		return
	}
	watcher.Store(&f)
}

// MappedBytes is how many bytes the live tallies' stores hold outside the Go heap (mapped; a
// chunk's pages not yet written to take no memory): beside the Go runtime's own figures, what
// the exporter holds.
func MappedBytes() int64 { return mapped.Load() }

// words is a []uint32 in a block outside the heap, grown by doubling: a store's index, a
// position and a tag an id (logStore.pos, tags), which were a tenth of a cold start's heap. The
// block it outgrows is unmapped at once (its one owner is the words), so s is read through the
// words each time, never kept aside across a change of them.
type words struct {
	s   []uint32
	mem *block
}

// append adds v at the end.
func (w *words) append(v uint32) {
	if len(w.s) == cap(w.s) {
		w.reserve(1)
	}
	w.s = append(w.s, v) // within the block: no allocation
}

// reserve makes room for n more, at least doubling.
func (w *words) reserve(n int) {
	if cap(w.s)-len(w.s) < n {
		w.resize(max(len(w.s)+n, 2*cap(w.s), 1024))
	}
}

// clip gives back the room past the length, when it is more than a page's.
func (w *words) clip() {
	if 4*(cap(w.s)-len(w.s)) > pageSize {
		w.resize(len(w.s))
	}
}

// free gives the block back and empties w.
func (w *words) free() {
	w.mem.free()
	*w = words{}
}

// resize moves w to a block of room for c, c at least its length, a page's worth at least.
func (w *words) resize(c int) {
	c = (4*c + pageSize - 1) / pageSize * pageSize / 4
	mem := newBlock(4 * c)
	s := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem.b))), c)[:len(w.s)]
	copy(s, w.s)
	w.mem.free()
	w.s, w.mem = s, mem
}

// pageSize is the unit memory is mapped in (on every platform Go maps in pages of at least it).
const pageSize = 4096
