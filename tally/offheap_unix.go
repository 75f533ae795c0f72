//go:build unix

package tally

import "syscall"

func mapBlock(n int, filled bool) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	flags := syscall.MAP_ANON | syscall.MAP_PRIVATE
	if filled {
		flags |= mapPopulate
	}
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, flags)
}

func unmapBlock(m []byte) { _ = syscall.Munmap(m) }

func protectBlock(m []byte) { _ = syscall.Mprotect(m, syscall.PROT_NONE) }
