package tally

import (
	"runtime"
	"sync/atomic"
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
type block struct{ b []byte }

// newBlock maps n bytes. Pages are backed by memory only once written to, so a chunk's block is
// mapped at its full size at once. Where mapping fails (or on a system without it), the block
// is an ordinary slice of the heap.
func newBlock(n int) *block {
	m, err := mapBlock(n)
	if err != nil || m == nil {
		return &block{b: make([]byte, n)}
	}
	mapped.Add(int64(len(m)))
	b := &block{b: m}
	runtime.AddCleanup(b, unmap, m)
	return b
}

// mapped is how many bytes of blocks are mapped.
var mapped atomic.Int64

func unmap(m []byte) {
	unmapBlock(m)
	mapped.Add(-int64(len(m)))
}

// MappedBytes is how many bytes the live tallies' stores hold outside the Go heap (mapped; a
// chunk's pages not yet written to take no memory): beside the Go runtime's own figures, what
// the exporter holds.
func MappedBytes() int64 { return mapped.Load() }
