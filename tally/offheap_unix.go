//go:build unix

package tally

import "syscall"

func mapBlock(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

func unmapBlock(m []byte) { _ = syscall.Munmap(m) }

func protectBlock(m []byte) { _ = syscall.Mprotect(m, syscall.PROT_NONE) }
