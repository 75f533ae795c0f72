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
// map entry or a pointer each. A sealing store compresses each chunk once it is full (sealed.go):
// the facts store, whose records compress by a fifth; the touches' hardly do.
type logStore struct {
	ids    idList
	pos    words // chunk << chunkBits | offset, by index in ids; deleted for none
	extra  map[int64]uint32
	chunks []chunk
	cur    int   // the chunk records are appended to
	empty  []int // chunks given back, to be written again
	// tagged: each id also has a tag of 4 bytes, kept beside its position (tags by index in ids,
	// extraTags for the ids in extra), not in its record: a tag can change in place while the
	// records stay as written, which a sealed chunk needs (factStore: a lead's reach, which a full
	// recount completes after its facts are written).
	tagged    bool
	tags      words
	extraTags map[int64]uint32
	// seal: a chunk is compressed once full (sealed); its records are read through a cache of
	// one decompressed frame (cache, or the caller's own for reads from several goroutines).
	seal  bool
	cache frameCache
	zbuf  []byte // where a chunk is compressed (sealChunk)
	// scratch is where putEncoded has a record encoded before the log copies it in (a store
	// has one writer).
	scratch []byte
	// lazy: a chunk gone half dead is not compacted at once but with others, in one pass over
	// the index once they are many (lazyChunks), and by tidy. Compacting a chunk finds its
	// records by going through every id, so a bulk rewrite (a cold start joining a million
	// leads to their touches) that compacted each chunk as it went half dead went through the
	// index once per chunk: 6 s of CPU at five million leads, most of it in passes over five
	// million ids. Leaving all of it to tidy held the dead half of every rewritten chunk until
	// the end: the cold start's peak at five million leads.
	lazy     bool
	halfDead int // lazy: chunks gone half dead since the last compaction
	// emptied counts the chunks given back (reuse): until it moves, a record stays where it
	// was written, with the same bytes (sealing compresses them in place), so a copy of the
	// record at a position is that position's record (recordMemo).
	emptied uint64
}

// lazyChunks is how many chunks gone half dead a lazy store lets wait for one compaction: at
// least 16, and an eighth of the log, so that the passes over the index stay a few per doubling
// of the store while the dead space waiting stays an eighth of it.
func lazyChunks(chunks int) int { return max(16, chunks/8) }

type chunk struct {
	b []byte // the records of a chunk still written to; nil once sealed
	// mem is where b is: a block outside the Go heap (offheap.go), mapped whole; the pages a
	// chunk has not written to yet take no memory.
	mem *block
	// recs is how many records were written to it, dead how many of them are dead. Counted in
	// records, not bytes: the size of a sealed record is in its compressed frame, and freeing a
	// changed lead's old record decompressed a frame only to learn it (15 % of a steady poll's
	// recomputing).
	recs, dead int
	sealed     *sealed
}

// mostlyDead is whether more than half of a chunk's records are dead.
func (c *chunk) mostlyDead() bool { return c.dead*2 > c.recs }

const (
	chunkBits = 20 // a chunk holds up to 1 MiB of records
	chunkSize = 1 << chunkBits
	deleted   = math.MaxUint32
)

func newLogStore() logStore { return logStore{extra: map[int64]uint32{}} }

// newTaggedLogStore is a store whose ids carry tags (logStore.tagged) and whose full chunks
// are sealed (logStore.seal).
func newTaggedLogStore() logStore {
	return logStore{extra: map[int64]uint32{}, tagged: true, extraTags: map[int64]uint32{}, seal: true}
}

// Len is how many ids the store holds.
func (s *logStore) Len() int {
	n := len(s.extra)
	for _, p := range s.pos.s {
		if p != deleted {
			n++
		}
	}
	return n
}

func (s *logStore) find(id int64) (int, bool) { return s.ids.Search(id) }

func (s *logStore) lookup(id int64) uint32 {
	p, _ := s.lookupTag(id)
	return p
}

// lookupTag returns where an id's record is (deleted for none) and its tag (tagged stores), in
// one search of the index.
func (s *logStore) lookupTag(id int64) (p, tag uint32) {
	if p, ok := s.extra[id]; ok {
		return p, s.extraTags[id]
	}
	if i, ok := s.find(id); ok {
		if s.tagged {
			tag = s.tags.s[i]
		}
		return s.pos.s[i], tag
	}
	return deleted, 0
}

// record returns the bytes of the record at p, valid until the next read of the store (a
// sealed chunk's record is in the store's frame cache).
func (s *logStore) record(p uint32) []byte { return s.recordWith(p, &s.cache) }

// recordWith is record through the frame cache fc: goroutines that read at once each use their
// own.
func (s *logStore) recordWith(p uint32, fc *frameCache) []byte {
	c := &s.chunks[p>>chunkBits]
	b, off := c.b, int(p&(chunkSize-1))
	if c.sealed != nil {
		b, off = fc.frame(c.sealed, off)
	}
	b = b[off:]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}

// tagAt returns the tag of the id at index position i (tagged stores).
func (s *logStore) tagAt(i int) uint32 { return s.tags.s[i] }

// setTag changes the tag of an id that has a record. Tags of different ids in the sorted index
// may be set at once (the map of ids added out of order may not).
func (s *logStore) setTag(id int64, t uint32) {
	if _, ok := s.extra[id]; ok {
		s.extraTags[id] = t
	} else if i, ok := s.find(id); ok && s.pos.s[i] != deleted {
		s.tags.s[i] = t
	}
}

// setTagAt is setTag of the id at index position i.
func (s *logStore) setTagAt(i int, t uint32) { s.tags.s[i] = t }

// recordOf returns an id's record, nil for none.
func (s *logStore) recordOf(id int64) []byte {
	if p := s.lookup(id); p != deleted {
		return s.record(p)
	}
	return nil
}

// each calls fn with every id and its record's position, in no order, until it returns false.
func (s *logStore) each(fn func(id int64, p uint32) bool) {
	s.eachEntry(func(id int64, p, _ uint32) bool { return fn(id, p) })
}

// eachEntry is each with every id's tag (tagged stores).
func (s *logStore) eachEntry(fn func(id int64, p, tag uint32) bool) {
	stopped := false
	s.ids.Each(func(i int, id int64) bool {
		var tag uint32
		if s.tagged {
			tag = s.tags.s[i]
		}
		if p := s.pos.s[i]; p != deleted && !fn(id, p, tag) {
			stopped = true
		}
		return !stopped
	})
	if stopped {
		return
	}
	for id, p := range s.extra {
		if !fn(id, p, s.extraTags[id]) {
			return
		}
	}
}

// putRecord stores an id's record in place of any it had.
func (s *logStore) putRecord(id int64, rec []byte) { s.putTagged(id, rec, 0) }

// putEncoded is putTagged of the record encode appends to the store's scratch buffer: a buffer
// a record, grown as it was written, was 250 MB of garbage in a 1M cold start (the facts' and
// the touches').
func (s *logStore) putEncoded(id int64, tag uint32, encode func([]byte) []byte) {
	s.scratch = encode(s.scratch[:0])
	s.putTagged(id, s.scratch, tag)
}

// putTagged stores an id's record in place of any it had, with its tag (tagged stores).
func (s *logStore) putTagged(id int64, rec []byte, tag uint32) {
	if s.ids.Len() == 0 || id > s.ids.Last() {
		// Past every id of the index, and so in none of it nor in extra (whose ids were below
		// the last when they were put, and the last only grows until a merge empties extra):
		// nothing to free, nothing to search. A full read puts its ids in order: two searches
		// of the index a record, a tenth of a cold start's storing, were for nothing.
		p := s.append(id, rec)
		s.ids.Append(id)
		s.pos.append(p)
		if s.tagged {
			s.tags.append(tag)
		}
		return
	}
	s.free(id)
	p := s.append(id, rec)
	if i, ok := s.find(id); ok {
		s.place(i, p, tag)
		return
	}
	s.extra[id] = p
	if s.tagged {
		s.extraTags[id] = tag
	}
	if len(s.extra) > max(1024, s.ids.Len()/16) {
		s.merge()
	}
}

// putTaggedAt is putTagged for the id at position i of a settled index (eachAt), which it
// does not search: a rewrite of records walked in index order (joinStored, a cold start's leads
// stored before the touches were in) searched it three times a record. Nothing it does moves
// an id in the index: positions eachAt gave stay valid through a batch of these.
func (s *logStore) putTaggedAt(i int, id int64, rec []byte, tag uint32) {
	s.freeAt(id, s.pos.s[i])
	s.place(i, s.append(id, rec), tag)
}

// place points index position i at the record at p, with its tag (tagged stores).
func (s *logStore) place(i int, p, tag uint32) {
	s.pos.s[i] = p
	if s.tagged {
		s.tags.s[i] = tag
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

// eachAt calls fn with each position i in [lo, hi) of a settled index (settleIndex), its id, and
// where its record is, in order, but for deleted ones: a share of the ids without a copy of them
// all, and without searching the index for each again.
func (s *logStore) eachAt(lo, hi int, fn func(i int, id int64, p uint32)) {
	s.ids.EachFrom(lo, func(i int, id int64) bool {
		if i >= hi {
			return false
		}
		if p := s.pos.s[i]; p != deleted {
			fn(i, id, p)
		}
		return true
	})
}

// Delete forgets an entity.
func (s *logStore) Delete(id int64) {
	s.free(id)
	if _, ok := s.extra[id]; ok {
		delete(s.extra, id)
		delete(s.extraTags, id)
	} else if i, ok := s.find(id); ok {
		s.pos.s[i] = deleted
	}
}

// free marks an entity's record, if any, as dead space, and gives back its chunk when mostly dead.
func (s *logStore) free(id int64) { s.freeAt(id, s.lookup(id)) }

// freeAt is free of id's record at p (deleted for none).
func (s *logStore) freeAt(id int64, p uint32) {
	if p == deleted {
		return
	}
	c := &s.chunks[p>>chunkBits]
	was := c.mostlyDead()
	c.dead++
	ci := int(p >> chunkBits)
	if ci == s.cur || !c.mostlyDead() {
		return
	}
	if c.dead == c.recs {
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
			dirty[i] = i != s.cur && s.chunks[i].mostlyDead()
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
		// A full chunk is sealed, and its block written again as the next chunk's.
		var spare *block
		if s.seal && len(s.chunks) > 0 {
			spare = s.sealChunk(s.cur)
		}
		if n := len(s.empty); n > 0 {
			s.cur, s.empty = s.empty[n-1], s.empty[:n-1]
		} else {
			if len(s.chunks) == 1<<(32-chunkBits) {
				panic("tally: the facts store is full")
			}
			s.chunks = append(s.chunks, chunk{})
			s.cur = len(s.chunks) - 1
		}
		if c := &s.chunks[s.cur]; c.mem == nil {
			if c.mem = spare; spare == nil {
				c.mem = newBlock(chunkSize)
			}
			c.b = c.mem.b[:0]
		}
	}
	c := &s.chunks[s.cur]
	p := uint32(s.cur)<<chunkBits | uint32(len(c.b))
	c.b = binary.AppendUvarint(c.b, uint64(len(rec)))
	c.b = append(c.b, rec...)
	c.recs++
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
				s.chunks[ci].mem.letGo()
				s.chunks[ci].b, s.chunks[ci].mem = nil, nil // kept for the moves; the store holds no spare chunk after
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
	left := make([]int, len(dirty)) // live records still to move, by dirty chunk
	for ci, d := range dirty {
		if d {
			left[ci] = s.chunks[ci].recs - s.chunks[ci].dead
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
		q := s.append(id, s.record(p))
		if left[ci]--; left[ci] == 0 {
			empty(ci)
		}
		return q
	}
	s.ids.Each(func(i int, id int64) bool {
		s.pos.s[i] = move(id, s.pos.s[i])
		return true
	})
	for id, p := range s.extra {
		s.extra[id] = move(id, p)
	}
	for ci, d := range dirty {
		if d { // only if its dead records were undercounted: every record it held has moved
			empty(ci)
		}
	}
}

// reuse empties a chunk that holds no live record, to be written again. Its bytes are kept:
// dropping them made a megabyte of garbage a chunk, and the next one another while it grew, which
// a cold start's compactions left as memory the runtime had not given back at its peak. A sealed
// chunk has none to keep (its compressed frames are dropped).
func (s *logStore) reuse(ci int) {
	s.emptied++
	if z := s.chunks[ci].sealed; z != nil {
		z.mem.letGo()
	}
	s.chunks[ci] = chunk{b: s.chunks[ci].b[:0], mem: s.chunks[ci].mem}
	s.empty = append(s.empty, ci)
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
		id  int64
		p   uint32
		tag uint32
	}
	extra := make([]entry, 0, len(s.extra))
	for id, p := range s.extra {
		extra = append(extra, entry{id, p, s.extraTags[id]})
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
	for _, p := range s.pos.s {
		if p != deleted {
			n++
		}
	}
	var ids idList
	var pos, tags words
	pos.reserve(n)
	if s.tagged {
		tags.reserve(n)
	}
	add := func(id int64, p uint32, tag uint32) {
		ids.Append(id)
		pos.append(p)
		if s.tagged {
			tags.append(tag)
		}
	}
	j := 0
	s.ids.Each(func(i int, id int64) bool {
		for ; j < len(extra) && extra[j].id < id; j++ {
			add(extra[j].id, extra[j].p, extra[j].tag)
		}
		if s.pos.s[i] != deleted {
			var tag uint32
			if s.tagged {
				tag = s.tags.s[i]
			}
			add(id, s.pos.s[i], tag)
		}
		return true
	})
	for ; j < len(extra); j++ {
		add(extra[j].id, extra[j].p, extra[j].tag)
	}
	ids.clip()
	s.pos.free()
	s.tags.free()
	s.ids, s.pos, s.tags, s.extra = ids, pos, tags, map[int64]uint32{}
	if s.tagged {
		s.extraTags = map[int64]uint32{}
	}
}

// reserve makes room in the index for n ids in all, put in order: a store filled from empty
// (a full recount's) otherwise grows its positions and tags by doubling, and holds the old
// arrays beside the new while it copies them, up to three times their size at a million leads.
func (s *logStore) reserve(n int) {
	s.pos.reserve(n - len(s.pos.s))
	if s.tagged {
		s.tags.reserve(n - len(s.tags.s))
	}
}

// clip gives back the index's unused capacity: for a store that is complete (a full recount's),
// whose later changes are few.
func (s *logStore) clip() {
	s.ids.clip()
	s.pos.clip()
	if s.tagged {
		s.tags.clip()
	}
}
