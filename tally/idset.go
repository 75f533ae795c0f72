package tally

import (
	"math/bits"
	"slices"
)

// idSet is a set of ids, for a tally's check that a row's id is not repeated. Ids that come in
// increasing order, as a table's rows mostly come when it was filled in id order, are appended
// to a sorted run (an id above every id so far cannot be a repeat); the others go into an
// open-addressing table (linear probing, Fibonacci hashing, growing by doubling) and are also
// looked for in the run by binary search. At a million leads the 5M activities' check was about
// 1 s of a cold start's CPU as a map[int64]bool, 0.5 s as the table alone. Its zero value is an
// empty set.
type idSet struct {
	run   []int64 // increasing: the ids above every earlier one when they came
	max   int64   // the largest id in the set, if any
	slots []int64 // 0: an empty slot; the id 0 is kept apart (zero)
	n     int     // ids in slots
	shift uint    // 64 - log2(len(slots))
	zero  bool
}

// add adds id and reports whether it was not in the set already.
func (s *idSet) add(id int64) bool {
	if id > s.max || len(s.run) == 0 && s.n == 0 && !s.zero {
		s.run, s.max = append(s.run, id), id
		return true
	}
	if _, found := slices.BinarySearch(s.run, id); found {
		return false
	}
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
	n := len(s.run) + s.n
	if s.zero {
		n++
	}
	return n
}

// reset empties the set, keeping its run's and table's memory for the ids to come.
func (s *idSet) reset() {
	clear(s.slots)
	s.run, s.max, s.n, s.zero = s.run[:0], 0, 0, false
}
