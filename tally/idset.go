package tally

import "math/bits"

// idSet is a set of ids, for a tally's check that a row's id is not repeated: an open-addressing
// table of the ids themselves (linear probing, Fibonacci hashing), growing by doubling. A
// map[int64]bool did the same at three times the cost: at a million leads the 5M activities'
// check was about 1 s of a cold start's CPU. Its zero value is an empty set.
type idSet struct {
	slots []int64 // 0: an empty slot; the id 0 is kept apart (zero)
	n     int     // ids in slots
	shift uint    // 64 - log2(len(slots))
	zero  bool
}

// add adds id and reports whether it was not in the set already.
func (s *idSet) add(id int64) bool {
	if id == 0 {
		added := !s.zero
		s.zero = true
		return added
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	if !s.insert(id) {
		return false
	}
	s.n++
	return true
}

// insert puts id (not 0) in a slot unless it is there already, and reports which.
func (s *idSet) insert(id int64) bool {
	mask := len(s.slots) - 1
	for i := int((uint64(id) * 0x9E3779B97F4A7C15) >> s.shift); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case id:
			return false
		case 0:
			s.slots[i] = id
			return true
		}
	}
}

// grow doubles the table (at least 256 slots) and puts every id in again.
func (s *idSet) grow() {
	old := s.slots
	size := max(256, 2*len(old))
	s.slots = make([]int64, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for _, id := range old {
		if id != 0 {
			s.insert(id)
		}
	}
}

// len returns the number of ids in the set.
func (s *idSet) len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}
