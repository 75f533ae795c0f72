package tally

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/money"
)

// The live CRM tally keeps, between polls, what each lead put in its sums: not the lead's rows (at
// a million leads, five million activities and millions of marketing touches), but its facts:
// what the tally made of those rows (the lead's own timestamps and label values, its first
// touches and attempts, its sales touches counted by kind and window, its deals, the campaign
// that produced it, its data-quality problems). From its facts the tally computes a lead's
// numbers exactly as from its rows, which is how a changed lead's old numbers are taken out of the
// sums after its rows have changed in the database.

// facts is what the tally made of the rows of one entity: a lead id as the rows carry it (an
// activity's or deal's lead_id may name no lead).
type facts struct {
	lead     *lead // nil: no lead of that id
	deals    []opportunity
	problems []Problem
	reach    reach
	digest   Digest
	// volatile: rows dated in the future left out (CRM.rowAhead): its numbers are tallied at
	// every poll from its rows, never kept in the sums; its facts stand for its digests, and
	// for its numbers at the instant they were made (a full recount's).
	volatile bool
}

// entities returns the facts of every entity fed to the tally, by id, once its rows are in
// (marketing touches joined); their reach is complete once finishRows has noted every timestamp.
func (c *CRM) entities() map[int64]*facts {
	var out map[int64]*facts
	if c.arena != nil {
		out = c.arena.byID // the round's, cleared of the last round's
		clear(out)
	} else {
		out = map[int64]*facts{}
	}
	get := func(id int64) *facts {
		f := out[id]
		if f == nil {
			f = c.arena.facts()
			f.reach = noReach
			out[id] = f
		}
		return f
	}
	own := 0 // leads whose digest they point at (lead.digest)
	for id, l := range c.leads {
		f := get(id)
		f.lead, f.reach = l, l.reach
		if l.digest != nil {
			f.digest = *l.digest
			own++
		}
	}
	for _, o := range c.opps {
		f := get(o.entity)
		if len(f.deals) == cap(f.deals) && c.arena != nil {
			// From the round's arena: a slice made for each lead with a deal was a tenth of
			// a 1M cold start's allocations.
			grown := c.arena.dealList(max(2, 2*len(f.deals)))[:len(f.deals)]
			copy(grown, f.deals)
			f.deals = grown
		}
		f.deals = append(f.deals, o)
	}
	for _, p := range c.problems {
		f := get(p.lead)
		f.problems = append(f.problems, p.Problem)
	}
	for id, r := range c.orphans {
		get(id).reach = *r
	}
	if own < len(c.digests) { // digests of no lead's, or of leads loaded from their facts
		for id, d := range c.digests {
			get(id).digest = *d
		}
	}
	for id := range c.ahead {
		get(id).volatile = true
	}
	return out
}

// reaches calls fn with the reach of every entity of a finished tally.
func (c *CRM) reachesOf(fn func(id int64, r reach)) {
	for id, l := range c.leads {
		fn(id, l.reach)
	}
	for id, r := range c.orphans {
		if c.leads[id] == nil {
			fn(id, *r)
		}
	}
}

// load puts an entity's facts into the tally, as if its rows had been fed: its numbers then
// come out of finishRows. The owners must be those the facts were made with (a change of owner
// recounts every lead).
func (c *CRM) load(id int64, f *facts) {
	if f.volatile {
		c.rowAhead(id)
	}
	if l := f.lead; l != nil {
		c.place(l)
		c.leads[id] = l
	}
	for _, o := range f.deals {
		if l := c.leads[o.leadID]; o.leadID != 0 && l != nil {
			o.raw = l.raw
			l.deal(o)
		} else {
			o.raw = unknownDims(len(c.cfg.Dims))
		}
		c.opps = append(c.opps, o)
	}
	for _, p := range f.problems {
		c.problems = append(c.problems, leadProblem{id, p})
	}
}

func unknownDims(n int) []string {
	raw := make([]string, n)
	for i := range raw {
		raw[i] = "unknown"
	}
	return raw
}

// strs is a dictionary of the text values facts hold (label values, statuses, stage names,
// kinds): each is kept once, and facts refer to it by number. It also holds the second a store's
// records write their first timestamp from (timeBase).
type strs struct {
	list    []string
	codes   map[string]uint32
	base    int64
	hasBase bool
	// recent holds the code of the last strings coded, by where their bytes are: the values come
	// shared (the reads intern them), so the same value is most often the same string, and a
	// pointer compared costs less than the map's hash (13M values at a million leads). A string
	// kept here keeps its bytes alive, so no other string can take its place.
	recent [64]recentCode
}

type recentCode struct {
	p    *byte
	n    int
	code uint32
}

// timeBase returns the second a record's first timestamp is written from: the first one the
// store wrote. A lead created within two years of it takes four bytes, where seconds since 1970
// take five.
func (d *strs) timeBase(t time.Time) int64 {
	if !d.hasBase && !t.IsZero() {
		d.base, d.hasBase = t.Unix(), true
	}
	return d.base
}

func (d *strs) code(s string) uint32 {
	p := unsafe.StringData(s)
	r := &d.recent[(uintptr(unsafe.Pointer(p))>>3^uintptr(len(s)))&63]
	if len(s) > 0 && r.p == p && r.n == len(s) {
		return r.code
	}
	c, ok := d.codes[s]
	if !ok {
		if d.codes == nil {
			d.codes = map[string]uint32{}
		}
		c = uint32(len(d.list))
		d.list = append(d.list, s)
		d.codes[s] = c
	}
	if len(s) > 0 {
		*r = recentCode{p, len(s), c}
	}
	return c
}

func (d *strs) str(c uint64) string { return d.list[c] }

// Facts are encoded as a sequence of variable-length integers: times as seconds (from a base,
// zigzag) with their nanoseconds only when not whole, text by dictionary code, masks and counts
// as they are. A lead of the data takes about 54 bytes as written, and 4 more for its
// reach beside it (reachCodec); sealed (sealChunk), its record takes about four fifths of that.
const (
	factLead = 1 << iota
	factMarketing
	factProducer
	factVolatile
	flagBits = iota // the epoch is written above the flags
)

const (
	dealClosed = 1 << iota
	dealWon
	dealOfLead
)

type encoder struct {
	b []byte
	d *strs
}

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)  { e.uint(uint64(e.d.code(s))) }

// time writes t relative to base seconds: 0 for a zero time, else 1 + (zigzag seconds << 1 |
// has nanoseconds), then the nanoseconds.
func (e *encoder) time(t time.Time, base int64) {
	if t.IsZero() {
		e.uint(0)
		return
	}
	s, ns := t.Unix()-base, t.Nanosecond()
	v := uint64(s<<1^s>>63) << 1
	if ns != 0 {
		v |= 1
	}
	e.uint(v + 1)
	if ns != 0 {
		e.uint(uint64(ns))
	}
}

// A reach is kept in the 4 bytes of its entity's tag in the store (logStore.tagged), not in its
// record, so that a full recount can complete it in place (factStore.setReach) while the records
// stay as written (sealed). Each bound takes two bytes, in hours from the store's base (2^15
// hours, 3.7 years, before the instant it was made): a past bound rounded up to the hour and an
// ahead bound rounded down, so that a bound read back is never on the other side of a period's
// start than the one noted. reach.within then answers yes at least whenever it did for the
// bounds as noted: a lead noted in the last hour before a roll-over is recounted at it, which
// costs a recount, never a wrong number. Past the hours two bytes hold, a past bound reads as
// late as can be (recounted at every roll-over) and an ahead bound as the last hour they hold;
// before the base, a bound reads as none, which only a clock set back by years could meet.
type reachCodec struct{ base int64 } // Unix seconds of hour 0

const (
	reachHour = 3600
	reachNone = 0      // past: none (or before the base)
	reachOpen = 0xFFFF // ahead: none; past: past the last hour
	reachSpan = 1 << 15
	reachLast = 0xFFFE
)

func newReachCodec(now time.Time) reachCodec { return reachCodec{now.Unix() - reachSpan*reachHour} }

func (c reachCodec) pack(r reach) uint32 {
	past, ahead := uint32(reachNone), uint32(reachOpen)
	if r.past != math.MinInt64 && r.past >= c.base {
		h := (r.past - c.base + reachHour - 1) / reachHour // rounded up
		past = uint32(min(max(h, 1), reachOpen))
	}
	if r.ahead != math.MaxInt64 {
		h := (r.ahead - c.base) / reachHour // rounded down (an ahead bound is after the base)
		ahead = uint32(min(max(h, 0), reachLast))
	}
	return past | ahead<<16
}

func (c reachCodec) unpack(t uint32) reach {
	r := noReach
	switch p := int64(t & 0xFFFF); p {
	case reachNone:
	case reachOpen:
		r.past = math.MaxInt64
	default:
		r.past = c.base + p*reachHour
	}
	if a := int64(t >> 16); a != reachOpen {
		r.ahead = c.base + a*reachHour
	}
	return r
}

// digest writes a DigestSum: its count, then, unless 0, its sum modulo 2^32 in four bytes (a
// random 32-bit number takes five as a variable-length integer).
func (e *encoder) digest(d DigestSum) {
	e.uint(uint64(d.N))
	if d.N != 0 {
		e.sum32(d.Sum)
	}
}

// sum32 writes a digest sum modulo 2^32, in four bytes.
func (e *encoder) sum32(sum int64) { e.b = binary.LittleEndian.AppendUint32(e.b, uint32(sum)) }

// digest reads a DigestSum, its sum modulo 2^32.
func (r *decoder) digest() DigestSum {
	d := DigestSum{N: int64(r.uint())}
	if d.N != 0 {
		d.Sum = r.sum32()
	}
	return d
}

// sum32 reads a digest sum written by encoder.sum32.
func (r *decoder) sum32() int64 {
	if r.err != nil || len(r.b) < 4 {
		r.fail()
		return 0
	}
	sum := int64(binary.LittleEndian.Uint32(r.b))
	r.b = r.b[4:]
	return sum
}

// date writes a civil date (an expected close date) as days since 1970-01-01, 0 for none.
func (e *encoder) date(d time.Time) {
	if d.IsZero() {
		e.uint(0)
		return
	}
	y, m, dd := d.Date()
	days := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix() / 86400
	e.uint(uint64(days<<1^days>>63) + 1)
}

type decoder struct {
	b   []byte
	d   *strs
	err error
}

func (r *decoder) uint() uint64 { return varint(r, binary.Uvarint) }
func (r *decoder) int() int64   { return varint(r, binary.Varint) }

// varint reads one variable-length integer with read (binary.Uvarint, binary.Varint).
func varint[T uint64 | int64](r *decoder, read func([]byte) (T, int)) T {
	v, n := read(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *decoder) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("tally: corrupt facts record")
	}
	r.b = nil
}

func (r *decoder) str() string {
	c := r.uint()
	if r.err != nil || c >= uint64(len(r.d.list)) {
		r.fail()
		return ""
	}
	return r.d.str(c)
}

func unzig(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

func (r *decoder) time(base int64) time.Time {
	v := r.uint()
	if v == 0 {
		return time.Time{}
	}
	v--
	s := unzig(v>>1) + base
	var ns int64
	if v&1 != 0 {
		ns = int64(r.uint())
	}
	return time.Unix(s, ns).UTC()
}

func (r *decoder) date() time.Time {
	v := r.uint()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(unzig(v-1)*86400, 0).UTC()
}

// encodeFacts appends the encoding of f to b; epoch is the store's roll-over count its masks
// are relative to (see factStore.roll).
func encodeFacts(b []byte, d *strs, f *facts, epoch int) []byte {
	e := encoder{b: b, d: d}
	var flags uint64
	l := f.lead
	if f.volatile {
		flags |= factVolatile
	}
	if l != nil {
		flags |= factLead
		if l.mkt != nil {
			flags |= factMarketing
			if l.mkt.hasProducer {
				flags |= factProducer
			}
		}
	}
	e.uint(flags | uint64(epoch)<<flagBits) // one byte while the epoch is under 8
	for _, d := range f.digest {
		e.digest(d)
	}
	e.uint(uint64(len(f.problems)))
	for _, p := range f.problems {
		e.str(p.Query)
		e.str(p.Check)
	}
	var base int64
	if l != nil {
		e.time(l.created, d.timeBase(l.created))
		base = l.created.Unix()
		for _, t := range []time.Time{l.mql, l.sql, l.disq, l.firstTouch, l.firstAny} {
			e.time(t, base)
		}
		e.int(l.owner)
		for _, s := range []string{l.source, l.region, l.segment, l.status, l.reason} {
			e.str(s)
		}
		e.uint(uint64(l.attempts))
		e.uint(uint64(len(l.touches)))
		for _, t := range l.touches {
			e.str(t.kind)
			e.uint(uint64(t.in))
			e.uint(uint64(t.n))
		}
		if m := l.mkt; m != nil {
			if m.hasProducer {
				e.int(m.producer)
			}
			e.uint(uint64(len(m.touches)))
			for _, t := range m.touches {
				e.time(t.Time(), base)
				e.int(t.Campaign)
			}
		}
	}
	e.uint(uint64(len(f.deals)))
	for _, o := range f.deals {
		var df uint64
		if o.isClosed {
			df |= dealClosed
		}
		if o.isWon {
			df |= dealWon
		}
		if o.leadID != 0 {
			df |= dealOfLead
		}
		e.uint(df)
		e.int(int64(o.amount))
		e.str(o.stage)
		e.time(o.created, base)
		e.date(o.expected)
		e.time(o.closed, base)
	}
	return e.b
}

// decodeFacts decodes a record of entity id, whose reach is kept beside it, into a's facts and
// lead (new ones if a is nil), and the epoch its masks are relative to. The lead's raw
// dimensions and calendar are left for CRM.load (they are its owner's).
func decodeFacts(a *factsArena, b []byte, d *strs, id int64, rch reach) (*facts, int, error) {
	r := decoder{b: b, d: d}
	flags := r.uint()
	epoch := int(flags >> flagBits)
	f := a.facts()
	*f = facts{volatile: flags&factVolatile != 0, reach: rch}
	for i := range f.digest {
		f.digest[i] = r.digest()
	}
	if n := r.uint(); n > 0 && r.err == nil {
		f.problems = make([]Problem, n) // rare
		for i := range f.problems {
			f.problems[i] = Problem{r.str(), r.str()}
		}
	}
	var base int64
	if flags&factLead != 0 {
		l := a.lead()
		l.created = r.time(d.base)
		base = l.created.Unix()
		for _, t := range []*time.Time{&l.mql, &l.sql, &l.disq, &l.firstTouch, &l.firstAny} {
			*t = r.time(base)
		}
		l.owner = r.int()
		for _, s := range []*string{&l.source, &l.region, &l.segment, &l.status, &l.reason} {
			*s = r.str()
		}
		l.attempts = int(r.uint())
		if n := r.uint(); n > 0 && r.err == nil {
			l.touches = a.kindCounts(int(n))
			for i := range l.touches {
				l.touches[i] = kindCount{kind: r.str(), in: fiscal.Mask(r.uint()), n: int64(r.uint())}
			}
		}
		if flags&factMarketing != 0 {
			m := a.marketing()
			if flags&factProducer != 0 {
				m.producer, m.hasProducer = r.int(), true
			}
			if n := r.uint(); n > 0 && r.err == nil {
				m.touches = a.touchList(int(n))
				for i := range m.touches {
					m.touches[i] = Touch{At: r.time(base).UnixNano(), Campaign: r.int()}
				}
			}
			l.mkt = m
		}
		l.reach = f.reach
		f.lead = l
	}
	if n := r.uint(); n > 0 && r.err == nil {
		f.deals = a.dealList(int(n))
		for i := range f.deals {
			df := r.uint()
			o := opportunity{entity: id, isClosed: df&dealClosed != 0, isWon: df&dealWon != 0}
			if df&dealOfLead != 0 {
				o.leadID = id
			}
			o.amount = money.Cents(r.int())
			o.stage = r.str()
			o.created = r.time(base)
			o.expected = r.date()
			o.closed = r.time(base)
			f.deals[i] = o
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return f, epoch, r.err
}

// remap moves a mask of windows through roll-overs: bit j of the result is bit from[j] of m.
func remap(m fiscal.Mask, from []int) fiscal.Mask {
	var out fiscal.Mask
	for j, i := range from {
		if i >= 0 && m&(1<<i) != 0 {
			out |= 1 << j
		}
	}
	return out
}

// factStore keeps the facts of every entity of the live CRM tally, encoded (encodeFacts).
type factStore struct {
	logStore
	d strs
	// rolls are the roll-overs since the store was filled: a record of epoch e holds masks of
	// the windows before rolls[e]; reading it moves them through rolls[e:].
	rolls [][]int
	rc    reachCodec // how reaches are kept (in the index's tags)
	// caches are frame caches for Get, which tallies on several cores call at once (logStore.cache
	// serves the store's own reads, which its writer makes).
	caches sync.Pool
	memo   recordMemo
}

// recordMemo keeps, while a steady poll reads the facts of its changed leads, a copy of each
// sealed record it read. A poll reads a changed lead's facts two or three times (LiveCRM.Known
// to see whether its rows' numbers can be carried, then to take its old numbers out, then to
// carry them), and each read of a sealed record decompressed its frame of 4 KiB again: at a
// million leads and a thousand changed leads a poll, 12 ms of a steady poll's CPU went to
// reading records, 9 of them to decompressing frames. Only the first read of a record
// decompresses now. A copy is valid until the store gives a chunk back (logStore.emptied),
// which is what moves a record.
type recordMemo struct {
	mu      sync.Mutex
	recs    map[uint32][]byte // nil: not keeping copies
	emptied uint64            // the store's logStore.emptied when the copies were made
	bytes   int
}

// memoBytes caps the copies of a poll: a roll-over that recounts many leads reads each once, and
// would only fill the memo.
const memoBytes = 1 << 20

// memoize starts (on) or ends keeping copies of the records read.
func (s *factStore) memoize(on bool) {
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	s.memo.recs, s.memo.bytes, s.memo.emptied = nil, 0, s.emptied
	if on {
		s.memo.recs = map[uint32][]byte{}
	}
}

// memoized returns the copy of the record at p, if one is kept and still valid.
func (s *factStore) memoized(p uint32) ([]byte, bool) {
	m := &s.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.emptied != s.emptied {
		return nil, false
	}
	rec, ok := m.recs[p] // none when not keeping copies (nil)
	return rec, ok
}

// keep keeps a copy of rec, the record at p, if it was in a sealed chunk (another is read in
// place) and there is room.
func (s *factStore) keep(p uint32, rec []byte) {
	if s.chunks[p>>chunkBits].sealed == nil {
		return
	}
	m := &s.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		return
	}
	if m.emptied != s.emptied { // a record has moved since: every copy may be stale
		clear(m.recs)
		m.bytes, m.emptied = 0, s.emptied
	}
	if m.bytes+len(rec) > memoBytes {
		return
	}
	m.recs[p] = slices.Clone(rec)
	m.bytes += len(rec)
}

// newFactStore is an empty store for a tally at now.
func newFactStore(now time.Time) *factStore {
	return &factStore{logStore: newTaggedLogStore(), rc: newReachCodec(now)}
}

// Get returns an entity's facts, with its masks moved to the windows of the last roll-over.
func (s *factStore) Get(id int64) (*facts, bool) { return s.getIn(id, nil) }

// getIn is Get decoding into a (see factsArena; new values if a is nil).
func (s *factStore) getIn(id int64, a *factsArena) (*facts, bool) {
	p, t := s.lookupTag(id)
	if p == deleted {
		return nil, false
	}
	if rec, ok := s.memoized(p); ok {
		return s.decoded(id, rec, s.rc.unpack(t), a), true
	}
	fc, _ := s.caches.Get().(*frameCache)
	if fc == nil {
		fc = new(frameCache)
	}
	defer s.caches.Put(fc)
	rec := s.recordWith(p, fc)
	s.keep(p, rec)
	return s.decoded(id, rec, s.rc.unpack(t), a), true
}

// at decodes the facts of entity id from its record at p (where lookup or eachAt found it), with
// its reach, reading through fc, into a's facts and lead (new ones if a is nil).
func (s *factStore) at(id int64, p uint32, r reach, fc *frameCache, a *factsArena) *facts {
	return s.decoded(id, s.recordWith(p, fc), r, a)
}

// decoded decodes the facts of entity id from its record rec, with its reach.
func (s *factStore) decoded(id int64, rec []byte, r reach, a *factsArena) *facts {
	f, epoch, err := decodeFacts(a, rec, &s.d, id, r)
	if err != nil {
		panic(err) // the store wrote it: a bug, not bad data
	}
	if f.lead != nil && epoch < len(s.rolls) {
		for i := range f.lead.touches {
			for _, from := range s.rolls[epoch:] {
				f.lead.touches[i].in = remap(f.lead.touches[i].in, from)
			}
		}
	}
	return f
}

// factsArena is where a full recount keeps what a round of leads is made of while it is being
// tallied, in blocks it fills again at the next round (reset): the leads of a round die with
// its tally, and an allocation of its own for each lead, its digests, its labels, its touches
// and deals was, in the second pass, 0.7 GB of a 1M cold start's allocations (the leads and
// facts it decodes), and in the first, 0.9 GB (the leads and facts it reads and stores). Nothing
// of a round may keep a pointer to them past reset (a tally's snapshots, waiters and arrivals
// hold copies; the store, encoded records). A nil arena allocates each value on its own.
type factsArena struct {
	fs      blocks[facts]
	ls      blocks[lead]
	ds      blocks[Digest]
	ms      blocks[marketingFacts]
	raws    slabs[string]
	kinds   slabs[kindCount]
	touches slabs[Touch]
	deals   slabs[opportunity]
	// The maps and list a round's tally keeps its leads, digests, facts and deals in (useArena),
	// cleared for the next: grown afresh for each round, they were another 0.3 GB.
	leads   map[int64]*lead
	digests map[int64]*Digest
	byID    map[int64]*facts
	opps    []opportunity
}

// useArena makes c keep its leads and what they are made of in a (see factsArena), a's maps
// cleared of the last round's: c must be the arena's only tally until the next reset.
func (c *CRM) useArena(a *factsArena) {
	c.arena = a
	if a.leads == nil {
		a.leads, a.digests, a.byID = map[int64]*lead{}, map[int64]*Digest{}, map[int64]*facts{}
	}
	clear(a.leads)
	clear(a.digests)
	c.leads, c.digests, c.opps = a.leads, a.digests, a.opps[:0]
	c.lastDigest, c.lastLead = nil, nil
}

// keepOpps hands the room c's deals grew to back to its arena, for the next round's.
func (c *CRM) keepOpps() {
	if c.arena != nil {
		c.arena.opps = c.opps[:0]
	}
}

// The arena's values: from its blocks and slabs, or, without an arena (nil), each made on its
// own. A slab's slice has n zeroed values and no room past them.
func (a *factsArena) facts() *facts {
	return arenaValue(a, func(a *factsArena) *blocks[facts] { return &a.fs })
}
func (a *factsArena) lead() *lead {
	return arenaValue(a, func(a *factsArena) *blocks[lead] { return &a.ls })
}
func (a *factsArena) digest() *Digest {
	return arenaValue(a, func(a *factsArena) *blocks[Digest] { return &a.ds })
}
func (a *factsArena) marketing() *marketingFacts {
	return arenaValue(a, func(a *factsArena) *blocks[marketingFacts] { return &a.ms })
}
func (a *factsArena) raw(n int) []string {
	return arenaSlice(a, func(a *factsArena) *slabs[string] { return &a.raws }, n)
}
func (a *factsArena) kindCounts(n int) []kindCount {
	return arenaSlice(a, func(a *factsArena) *slabs[kindCount] { return &a.kinds }, n)
}
func (a *factsArena) touchList(n int) []Touch {
	return arenaSlice(a, func(a *factsArena) *slabs[Touch] { return &a.touches }, n)
}
func (a *factsArena) dealList(n int) []opportunity {
	return arenaSlice(a, func(a *factsArena) *slabs[opportunity] { return &a.deals }, n)
}

func arenaValue[T any](a *factsArena, in func(*factsArena) *blocks[T]) *T {
	if a == nil {
		return new(T)
	}
	return in(a).next()
}

func arenaSlice[T any](a *factsArena, in func(*factsArena) *slabs[T], n int) []T {
	if a == nil {
		return make([]T, n)
	}
	return in(a).take(n)
}

// reset makes everything given out free to be given again.
func (a *factsArena) reset() {
	a.fs.n, a.ls.n, a.ds.n, a.ms.n = 0, 0, 0, 0
	a.raws.reset()
	a.kinds.reset()
	a.touches.reset()
	a.deals.reset()
}

// blocks gives out zeroed values from blocks of arenaBlock, which stay where they are (a value
// given out is never moved) and are given out again after a reset (n = 0).
type blocks[T any] struct {
	bs [][]T
	n  int // given out so far, over the blocks
}

const arenaBlock = 256

func (b *blocks[T]) next() *T {
	if b.n == len(b.bs)*arenaBlock {
		b.bs = append(b.bs, make([]T, arenaBlock))
	}
	x := &b.bs[b.n/arenaBlock][b.n%arenaBlock]
	var zero T
	*x = zero
	b.n++
	return x
}

// slabs gives out zeroed slices of a few values from blocks of about slabBytes, given out
// again after a reset; a slice has no room past its length (an append to it moves it).
type slabs[T any] struct {
	bs [][]T
	b  int // the block being given out from
	i  int // how many of its values are given out
}

const slabBytes = 64 << 10

// block is how many values a block holds: 64 at least.
func (s *slabs[T]) block() int {
	var zero T
	return max(64, slabBytes/int(unsafe.Sizeof(zero)))
}

func (s *slabs[T]) take(n int) []T {
	size := s.block()
	if n > size/4 {
		return make([]T, n) // a rare long one: on its own
	}
	if s.b < len(s.bs) && s.i+n > size {
		s.b, s.i = s.b+1, 0
	}
	if s.b == len(s.bs) {
		s.bs = append(s.bs, make([]T, size))
	}
	x := s.bs[s.b][s.i : s.i+n : s.i+n]
	clear(x)
	s.i += n
	return x
}

func (s *slabs[T]) reset() { s.b, s.i = 0, 0 }

// Put stores an entity's facts in place of any it had.
func (s *factStore) Put(id int64, f *facts) {
	s.putEncoded(id, s.rc.pack(f.reach), func(b []byte) []byte { return encodeFacts(b, &s.d, f, len(s.rolls)) })
}

// putAt is Put of the entity at position i of the settled index (eachAt: logStore.putTaggedAt).
func (s *factStore) putAt(i int, id int64, f *facts) {
	s.scratch = encodeFacts(s.scratch[:0], &s.d, f, len(s.rolls))
	s.putTaggedAt(i, id, s.scratch, s.rc.pack(f.reach))
}

// roll notes a roll-over of the windows (fiscal.Spans.Roll): the masks of every record written
// before it are moved through it when read.
func (s *factStore) roll(from []int) { s.rolls = append(s.rolls, slices.Clone(from)) }

// setReach replaces an entity's noted timestamps in place: a full recount notes them once the
// facts are written. Those of different entities of the sorted index may be set at once.
func (s *factStore) setReach(id int64, r reach) { s.setTag(id, s.rc.pack(r)) }

// setReachAt is setReach of the entity at index position i (eachAt).
func (s *factStore) setReachAt(i int, r reach) { s.setTagAt(i, s.rc.pack(r)) }

// reachAt returns the reach of the entity at index position i (eachAt).
func (s *factStore) reachAt(i int) reach { return s.rc.unpack(s.tagAt(i)) }

// digestAt returns the digest of the record at p without decoding the rest.
func (s *factStore) digestAt(p uint32) Digest {
	r := decoder{b: s.record(p), d: &s.d}
	r.uint() // flags and epoch
	var d Digest
	for i := range d {
		d[i] = r.digest()
	}
	return d
}

// eachDigest calls fn with every entity's id and digest, in no order.
func (s *factStore) eachDigest(fn func(id int64, d Digest)) {
	s.each(func(id int64, p uint32) bool {
		fn(id, s.digestAt(p))
		return true
	})
}

// eachReach calls fn with every entity's id and noted timestamps, in no order, until it
// returns false.
func (s *factStore) eachReach(fn func(id int64, r reach) bool) {
	s.eachEntry(func(id int64, _, tag uint32) bool { return fn(id, s.rc.unpack(tag)) })
}
