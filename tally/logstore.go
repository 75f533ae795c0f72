package tally

import (
	"encoding/binary"
	"math"
	"slices"
)

// logStore keeps a record of bytes per id in chunks of a log: a changed record is appended and
// its old one becomes dead space, which a chunk gives back when it is mostly dead (compact).
// The index is a sorted, compressed list of ids (idList: a byte or two an id) with each record's
// position (4 bytes), plus a small map for ids added out of order since the last merge. It is
// the memory of the live tallies (factStore, touchStore): a million leads' records, without a
// map entry or a pointer each.
type logStore struct {
	ids    idList
	pos    []uint32 // chunk << chunkBits | offset, by index in ids; deleted for none
	extra  map[int64]uint32
	chunks []chunk
	cur    int   // the chunk records are appended to
	empty  []int // chunks given back, to be written again
	// lazy: a chunk gone half dead is not compacted at once but with others, in one pass over
	// the index once they are many (lazyChunks), and by tidy. Compacting a chunk finds its
	// records by going through every id, so a bulk rewrite (a cold start joining a million
	// leads to their touches) that compacted each chunk as it went half dead went through the
	// index once per chunk: 6 s of CPU at five million leads, most of it in passes over five
	// million ids. Leaving all of it to tidy held the dead half of every rewritten chunk until
	// the end: the cold start's peak at five million leads.
	lazy     bool
	halfDead int // lazy: chunks gone half dead since the last compaction
}

// lazyChunks is how many chunks gone half dead a lazy store lets wait for one compaction: at
// least 16, and an eighth of the log, so that the passes over the index stay a few per doubling
// of the store while the dead space waiting stays an eighth of it.
func lazyChunks(chunks int) int { return max(16, chunks/8) }

type chunk struct {
	b    []byte
	dead int
}

const (
	chunkBits = 20 // a chunk holds up to 1 MiB of records
	chunkSize = 1 << chunkBits
	deleted   = math.MaxUint32
)

func newLogStore() logStore { return logStore{extra: map[int64]uint32{}} }

// Len is how many ids the store holds.
func (s *logStore) Len() int {
	n := len(s.extra)
	for _, p := range s.pos {
		if p != deleted {
			n++
		}
	}
	return n
}

func (s *logStore) find(id int64) (int, bool) { return s.ids.Search(id) }

func (s *logStore) lookup(id int64) uint32 {
	if p, ok := s.extra[id]; ok {
		return p
	}
	if i, ok := s.find(id); ok {
		return s.pos[i]
	}
	return deleted
}

// record returns the bytes of the record at p.
func (s *logStore) record(p uint32) []byte {
	b := s.chunks[p>>chunkBits].b[p&(chunkSize-1):]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}

// recordOf returns an id's record, nil for none.
func (s *logStore) recordOf(id int64) []byte {
	if p := s.lookup(id); p != deleted {
		return s.record(p)
	}
	return nil
}

// each calls fn with every id and its record's position, in no order, until it returns false.
func (s *logStore) each(fn func(id int64, p uint32) bool) {
	stopped := false
	s.ids.Each(func(i int, id int64) bool {
		if p := s.pos[i]; p != deleted && !fn(id, p) {
			stopped = true
		}
		return !stopped
	})
	if stopped {
		return
	}
	for id, p := range s.extra {
		if !fn(id, p) {
			return
		}
	}
}

// putRecord stores an id's record in place of any it had.
func (s *logStore) putRecord(id int64, rec []byte) {
	s.free(id)
	p := s.append(id, rec)
	if i, ok := s.find(id); ok {
		s.pos[i] = p
		return
	}
	if s.ids.Len() == 0 || id > s.ids.Last() {
		s.ids.Append(id)
		s.pos = append(s.pos, p)
		return
	}
	s.extra[id] = p
	if len(s.extra) > max(1024, s.ids.Len()/16) {
		s.merge()
	}
}

// settleIndex folds the ids put out of order into the sorted index and returns its length: the
// positions eachAt walks, every entity's id among them (deleted ones left out by eachAt).
func (s *logStore) settleIndex() int {
	if len(s.extra) > 0 {
		s.merge()
	}
	return s.ids.Len()
}

// eachAt calls fn with the id at each position [lo, hi) of a settled index (settleIndex), and
// where its record is, in order, but for deleted ones: a share of the ids without a copy of them
// all, and without searching the index for each again.
func (s *logStore) eachAt(lo, hi int, fn func(id int64, p uint32)) {
	s.ids.EachFrom(lo, func(i int, id int64) bool {
		if i >= hi {
			return false
		}
		if p := s.pos[i]; p != deleted {
			fn(id, p)
		}
		return true
	})
}

// sortedIDs returns every entity's id in order.
func (s *logStore) sortedIDs() []int64 {
	out := make([]int64, 0, s.Len())
	s.ids.Each(func(i int, id int64) bool {
		if s.pos[i] != deleted {
			out = append(out, id)
		}
		return true
	})
	for id := range s.extra {
		out = append(out, id)
	}
	if len(s.extra) > 0 {
		slices.Sort(out)
	}
	return out
}

// Delete forgets an entity.
func (s *logStore) Delete(id int64) {
	s.free(id)
	if _, ok := s.extra[id]; ok {
		delete(s.extra, id)
	} else if i, ok := s.find(id); ok {
		s.pos[i] = deleted
	}
}

// free marks an entity's record, if any, as dead space, and gives back its chunk when mostly dead.
func (s *logStore) free(id int64) {
	p := s.lookup(id)
	if p == deleted {
		return
	}
	c := &s.chunks[p>>chunkBits]
	was := c.dead > len(c.b)/2
	c.dead += s.size(p)
	ci := int(p >> chunkBits)
	if ci == s.cur || c.dead <= len(c.b)/2 {
		return
	}
	if c.dead == len(c.b) {
		// Nothing live is left in it: given back without a pass over the index. A bulk rewrite
		// in id order (a cold start joining the leads stored before the touches were in to
		// them) empties its chunks one after the other: given back as they died, they no
		// longer waited, dead, for a compaction, nor had their last live records moved by one
		// only to be rewritten next.
		if was && s.lazy {
			s.halfDead = max(0, s.halfDead-1)
		}
		s.reuse(ci)
		return
	}
	if !s.lazy {
		s.compact(ci, func(x int64) bool { return x == id })
		return
	}
	if !was {
		s.halfDead++
	}
	if s.halfDead >= lazyChunks(len(s.chunks)) {
		dirty := make([]bool, len(s.chunks))
		for i := range s.chunks {
			dirty[i] = i != s.cur && s.chunks[i].dead > len(s.chunks[i].b)/2
		}
		s.compactAll(dirty, func(x int64) bool { return x == id })
		s.halfDead = 0
	}
}

// append writes a record to the last chunk (a new one when it is full) and returns its position.
func (s *logStore) append(id int64, rec []byte) uint32 {
	need := binary.MaxVarintLen64 + len(rec)
	if need > chunkSize {
		panic("tally: a facts record larger than a chunk")
	}
	if len(s.chunks) == 0 || len(s.chunks[s.cur].b)+need > chunkSize {
		if n := len(s.empty); n > 0 {
			s.cur, s.empty = s.empty[n-1], s.empty[:n-1]
		} else {
			if len(s.chunks) == 1<<(32-chunkBits) {
				panic("tally: the facts store is full")
			}
			s.chunks = append(s.chunks, chunk{})
			s.cur = len(s.chunks) - 1
		}
		if cap(s.chunks[s.cur].b) == 0 {
			s.chunks[s.cur].b = make([]byte, 0, 64<<10)
		}
	}
	c := &s.chunks[s.cur]
	if len(c.b)+need > cap(c.b) {
		// Grow by doubling up to the chunk size exactly: append's own growth (a quarter at a
		// time past 256 bytes, rounded to size classes) overshoots chunkSize by up to a
		// quarter, which a million leads' chunks paid in full.
		b := make([]byte, len(c.b), min(chunkSize, max(2*cap(c.b), len(c.b)+need)))
		copy(b, c.b)
		c.b = b
	}
	p := uint32(s.cur)<<chunkBits | uint32(len(c.b))
	c.b = binary.AppendUvarint(c.b, uint64(len(rec)))
	c.b = append(c.b, rec...)
	return p
}

// tidy gives back the dead space of every chunk but the one written to, moving their live
// records to the end of the log: after a pass that rewrote many records (joinStored), which
// left chunks up to half dead.
func (s *logStore) tidy() {
	// Moving records fills the current chunk and makes another one current: the one that was,
	// if it has dead space, is compacted in the next sweep (compacting makes none).
	for {
		dirty := make([]bool, len(s.chunks))
		some := false
		for ci := range s.chunks {
			dirty[ci] = ci != s.cur && s.chunks[ci].dead > 0
			some = some || dirty[ci]
		}
		if !some {
			s.halfDead = 0
			for _, ci := range s.empty {
				s.chunks[ci].b = nil // kept for the moves; the store holds no spare chunk after
			}
			return
		}
		s.compactAll(dirty, nil)
	}
}

// compactAll moves the live records of the chunks in dirty to the end of the log and empties
// them, in one pass over the index (skip, if set, says which entity is being freed: its record
// is already counted dead). A chunk's
// records are found by going through every id: one pass for all the chunks a rewrite left dead.
//
// A chunk is emptied as soon as its last live record has moved, and written again by the moves
// that follow, so the pass needs a few chunks more than the live records, not a second copy of
// them: records were mostly written in id order, so the index meets a chunk's records together.
// At the end of a cold start, which rewrote half its records, moving every record before
// emptying any chunk held the dead, the live and the moved records at once: the cold start's
// peak heap.
func (s *logStore) compactAll(dirty []bool, skip func(int64) bool) {
	left := make([]int, len(dirty)) // live bytes still to move, by dirty chunk
	for ci, d := range dirty {
		if d {
			left[ci] = len(s.chunks[ci].b) - s.chunks[ci].dead
		}
	}
	empty := func(ci int) {
		s.reuse(ci)
		dirty[ci] = false // written again from here on: what lands in it stays
	}
	for ci, d := range dirty {
		if d && left[ci] == 0 {
			empty(ci)
		}
	}
	move := func(id int64, p uint32) uint32 {
		ci := int(p >> chunkBits)
		if p == deleted || ci >= len(dirty) || !dirty[ci] || skip != nil && skip(id) {
			return p
		}
		n := s.size(p)
		q := s.append(id, s.record(p))
		if left[ci] -= n; left[ci] == 0 {
			empty(ci)
		}
		return q
	}
	s.ids.Each(func(i int, id int64) bool {
		s.pos[i] = move(id, s.pos[i])
		return true
	})
	for id, p := range s.extra {
		s.extra[id] = move(id, p)
	}
	for ci, d := range dirty {
		if d { // only if its dead bytes were undercounted: every record it held has moved
			empty(ci)
		}
	}
}

// reuse empties a chunk that holds no live record, to be written again. Its bytes are kept:
// dropping them made a megabyte of garbage a chunk, and the next one another while it grew, which
// a cold start's compactions left as memory the runtime had not given back at its peak.
func (s *logStore) reuse(ci int) {
	s.chunks[ci] = chunk{b: s.chunks[ci].b[:0]}
	s.empty = append(s.empty, ci)
}

// size is how many bytes of its chunk the record at p takes, its length included.
func (s *logStore) size(p uint32) int {
	b := s.chunks[p>>chunkBits].b[p&(chunkSize-1):]
	n, k := binary.Uvarint(b)
	return k + int(n)
}

// compact moves the live records of a mostly dead chunk to the end of the log and empties it
// (skip says which entity is being freed, which is no longer live).
func (s *logStore) compact(ci int, skip func(int64) bool) {
	dirty := make([]bool, ci+1)
	dirty[ci] = true
	s.compactAll(dirty, skip)
}

// merge folds the ids added out of order into the sorted index, and drops deleted ones.
func (s *logStore) merge() {
	type entry struct {
		id int64
		p  uint32
	}
	extra := make([]entry, 0, len(s.extra))
	for id, p := range s.extra {
		extra = append(extra, entry{id, p})
	}
	slices.SortFunc(extra, func(a, b entry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	n := len(extra)
	for _, p := range s.pos {
		if p != deleted {
			n++
		}
	}
	var ids idList
	pos := make([]uint32, 0, n)
	j := 0
	s.ids.Each(func(i int, id int64) bool {
		for ; j < len(extra) && extra[j].id < id; j++ {
			ids.Append(extra[j].id)
			pos = append(pos, extra[j].p)
		}
		if s.pos[i] != deleted {
			ids.Append(id)
			pos = append(pos, s.pos[i])
		}
		return true
	})
	for ; j < len(extra); j++ {
		ids.Append(extra[j].id)
		pos = append(pos, extra[j].p)
	}
	ids.clip()
	s.ids, s.pos, s.extra = ids, pos, map[int64]uint32{}
}

// clip gives back the index's unused capacity: for a store that is complete (a full recount's),
// whose later changes are few.
func (s *logStore) clip() {
	s.ids.clip()
	s.pos = clipped(s.pos)
}
