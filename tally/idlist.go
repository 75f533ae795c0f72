package tally

import (
	"encoding/binary"
	"sort"
)

// idList is a sorted list of distinct int64 ids, compressed: blocks of idBlock ids, each its
// first id and the differences to the next ones as variable-length integers. A CRM's ids are
// mostly consecutive, so an id takes one byte and a fifth instead of eight; text ids (hashed,
// spread over 2^63) about seven. Reading the i-th id decodes at most idBlock-1 differences.
type idList struct {
	firsts []int64  // the first id of each block
	offs   []uint32 // where each block's differences start in data
	data   []byte
	last   int64 // the greatest id, when n > 0
	n      int
}

const idBlock = 64

// Len is the number of ids.
func (l *idList) Len() int { return l.n }

// Last is the greatest id (the list must not be empty).
func (l *idList) Last() int64 { return l.last }

// Append adds an id greater than every id of the list.
func (l *idList) Append(id int64) {
	if l.n > 0 && id <= l.last {
		panic("tally: ids appended out of order")
	}
	if l.n%idBlock == 0 {
		l.firsts = append(l.firsts, id)
		l.offs = append(l.offs, uint32(len(l.data)))
	} else {
		l.data = binary.AppendUvarint(l.data, uint64(id)-uint64(l.last))
	}
	l.last = id
	l.n++
}

// At returns the i-th id.
func (l *idList) At(i int) int64 {
	b := i / idBlock
	id := l.firsts[b]
	d := l.data[l.offs[b]:]
	for range i % idBlock {
		v, k := binary.Uvarint(d)
		d = d[k:]
		id = int64(uint64(id) + v)
	}
	return id
}

// Search returns the index of id, or where it would be inserted, and whether it is there.
func (l *idList) Search(id int64) (int, bool) {
	// The last block whose first id is ≤ id.
	b := sort.Search(len(l.firsts), func(j int) bool { return l.firsts[j] > id }) - 1
	if b < 0 {
		return 0, false
	}
	cur := l.firsts[b]
	i := b * idBlock
	d := l.data[l.offs[b]:]
	end := min(l.n, i+idBlock)
	for {
		if cur == id {
			return i, true
		}
		if cur > id {
			return i, false
		}
		if i++; i == end {
			return i, false
		}
		v, k := binary.Uvarint(d)
		d = d[k:]
		cur = int64(uint64(cur) + v)
	}
}

// Each calls fn with every index and id in order, until it returns false.
func (l *idList) Each(fn func(i int, id int64) bool) { l.EachFrom(0, fn) }

// EachFrom is Each from the from-th id on.
func (l *idList) EachFrom(from int, fn func(i int, id int64) bool) {
	for b := max(0, from) / idBlock; b < len(l.firsts); b++ {
		id, d := l.firsts[b], l.data[l.offs[b]:]
		end := min(l.n, (b+1)*idBlock)
		for i := b * idBlock; i < end; i++ {
			if i > b*idBlock {
				v, k := binary.Uvarint(d)
				d = d[k:]
				id = int64(uint64(id) + v)
			}
			if i >= from && !fn(i, id) {
				return
			}
		}
	}
}

// clip gives back the capacity that appending left unused (a full recount's list is final).
func (l *idList) clip() {
	l.firsts = clipped(l.firsts)
	l.offs = clipped(l.offs)
	l.data = clipped(l.data)
}

func clipped[T any](s []T) []T {
	// Slack of up to a sixteenth is kept: copying costs the array a second time, held at once
	// (a full recount reserves its index with a little room: logStore.reserve).
	if cap(s)-len(s) < max(1024, len(s)/16) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}
