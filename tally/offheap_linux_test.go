package tally

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// resident counts the pages of m backed by memory (mincore).
func resident(t *testing.T, m []byte) int {
	t.Helper()
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestFilledBlockIsBacked: a block for a sealed chunk is backed by memory as it is mapped (no
// fault a page as the chunk is copied in); any other block only as it is written.
func TestFilledBlockIsBacked(t *testing.T) {
	page := os.Getpagesize() // the kernel's, which mincore reports in
	filled, lazy := newFilledBlock(8*page), newBlock(8*page)
	defer filled.free()
	defer lazy.free()
	if !filled.mapped || !lazy.mapped {
		t.Skip("mapping failed: blocks are heap slices")
	}
	if got := resident(t, filled.b); got != 8 {
		t.Errorf("a filled block has %d of its 8 pages backed, want all", got)
	}
	if got := resident(t, lazy.b); got != 0 {
		t.Errorf("a block not written to has %d of its 8 pages backed, want none", got)
	}
	lazy.b[3*page] = 1
	if got := resident(t, lazy.b); got != 1 {
		t.Errorf("a block written in one page has %d pages backed, want 1", got)
	}
}
