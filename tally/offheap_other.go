//go:build !unix

package tally

// Without mmap, blocks are slices of the heap (newBlock).
func mapBlock(int, bool) ([]byte, error) { return nil, nil }

func unmapBlock([]byte) {}

func protectBlock([]byte) {}
