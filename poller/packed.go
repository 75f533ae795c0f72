package poller

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/source"
)

// The mirror keeps millions of rows between polls (a million leads come with five million
// activities and a few million touchpoints), so the big tables hold them packed: label values
// as int codes into a per-table string list, timestamps as unix microseconds. An activity takes
// 40 bytes that way instead of 80 (plus a string header and three time.Time locations), a lead
// 80 instead of 216. Packing is exact or not done: a row whose timestamps do not survive the
// round trip (sub-microsecond text from a SQLite sync, a year past 290,000) is kept unpacked
// beside the others, so what the tally reads is always the row as decoded.

// strs interns a table's label values: a code per distinct string, in the order first seen.
type strs struct {
	code map[string]uint32
	list []string
}

func newStrs() *strs { return &strs{code: map[string]uint32{}} }

func (s *strs) of(v string) uint32 {
	if c, ok := s.code[v]; ok {
		return c
	}
	c := uint32(len(s.list))
	s.code[v] = c
	s.list = append(s.list, v)
	return c
}

func (s *strs) str(c uint32) string { return s.list[c] }

// noTime packs the zero time ("not set"), which no real timestamp packs to.
const noTime = math.MinInt64

// packTime packs a decoded (UTC) timestamp; false when unix microseconds cannot hold it exactly.
func packTime(t time.Time) (int64, bool) {
	if t.IsZero() {
		return noTime, t == time.Time{}
	}
	x := t.UnixMicro()
	return x, x != noTime && time.UnixMicro(x).UTC() == t
}

func unpackTime(x int64) time.Time {
	if x == noTime {
		return time.Time{}
	}
	return time.UnixMicro(x).UTC()
}

// packTimes packs several timestamps at once; false if any does not pack.
func packTimes(dst []*int64, ts ...time.Time) bool {
	ok := true
	for i, t := range ts {
		x, fits := packTime(t)
		*dst[i] = x
		ok = ok && fits
	}
	return ok
}

// codec packs a table's rows (V) into their compact form (C) and back, and reads a packed row's
// key and lead without unpacking it.
type codec[K comparable, V comparable, C comparable] struct {
	pack   func(*strs, V) (C, bool) // false: not exactly representable, keep V
	unpack func(*strs, C) V
	key    func(C) K
	lead   func(C) int64 // grouped tables
}

// identity is the codec of a table kept as decoded (small tables, tests).
func identity[K comparable, V comparable](key func(V) K, lead func(V) int64) codec[K, V, V] {
	return codec[K, V, V]{
		pack:   func(_ *strs, v V) (V, bool) { return v, true },
		unpack: func(_ *strs, v V) V { return v },
		key:    key, lead: lead,
	}
}

type packedLead struct {
	id, owner                         int64
	created, updated, mql, sql, disqu int64
	source, region, segment, status   uint32
	reason                            uint32
}

var leadCodec = codec[int64, source.Lead, packedLead]{
	key: func(p packedLead) int64 { return p.id },
	pack: func(s *strs, l source.Lead) (packedLead, bool) {
		p := packedLead{id: l.ID, owner: l.OwnerID, source: s.of(l.Source), region: s.of(l.Region), segment: s.of(l.Segment),
			status: s.of(l.Status), reason: s.of(l.DisqualifiedReason)}
		ok := packTimes([]*int64{&p.created, &p.updated, &p.mql, &p.sql, &p.disqu}, l.CreatedAt, l.UpdatedAt, l.MQLAt, l.SQLAt, l.DisqualifiedAt)
		return p, ok
	},
	unpack: func(s *strs, p packedLead) source.Lead {
		return source.Lead{ID: p.id, CreatedAt: unpackTime(p.created), UpdatedAt: unpackTime(p.updated), Source: s.str(p.source),
			Region: s.str(p.region), Segment: s.str(p.segment), OwnerID: p.owner, Status: s.str(p.status), MQLAt: unpackTime(p.mql),
			SQLAt: unpackTime(p.sql), DisqualifiedAt: unpackTime(p.disqu), DisqualifiedReason: s.str(p.reason)}
	},
}

type packedActivity struct {
	id, lead          int64
	occurred, updated int64
	kind              uint32
}

var activityCodec = codec[int64, source.Activity, packedActivity]{
	key: func(p packedActivity) int64 { return p.id }, lead: func(p packedActivity) int64 { return p.lead },
	pack: func(s *strs, a source.Activity) (packedActivity, bool) {
		p := packedActivity{id: a.ID, lead: a.LeadID, kind: s.of(a.Kind)}
		return p, packTimes([]*int64{&p.occurred, &p.updated}, a.OccurredAt, a.UpdatedAt)
	},
	unpack: func(s *strs, p packedActivity) source.Activity {
		return source.Activity{ID: p.id, LeadID: p.lead, Kind: s.str(p.kind), OccurredAt: unpackTime(p.occurred), UpdatedAt: unpackTime(p.updated)}
	},
}

type packedOpportunity struct {
	id, lead                           int64
	amount                             money.Cents
	created, expected, closed, updated int64
	currency, stage                    uint32
	isClosed, isWon                    bool
}

var opportunityCodec = codec[int64, source.Opportunity, packedOpportunity]{
	key: func(p packedOpportunity) int64 { return p.id }, lead: func(p packedOpportunity) int64 { return p.lead },
	pack: func(s *strs, o source.Opportunity) (packedOpportunity, bool) {
		p := packedOpportunity{id: o.ID, lead: o.LeadID, amount: o.Amount, currency: s.of(o.Currency), stage: s.of(o.Stage),
			isClosed: o.IsClosed, isWon: o.IsWon}
		return p, packTimes([]*int64{&p.created, &p.expected, &p.closed, &p.updated}, o.CreatedAt, o.ExpectedClose, o.ClosedAt, o.UpdatedAt)
	},
	unpack: func(s *strs, p packedOpportunity) source.Opportunity {
		return source.Opportunity{ID: p.id, LeadID: p.lead, Amount: p.amount, Currency: s.str(p.currency), Stage: s.str(p.stage),
			CreatedAt: unpackTime(p.created), ExpectedClose: unpackTime(p.expected), ClosedAt: unpackTime(p.closed),
			IsClosed: p.isClosed, IsWon: p.isWon, UpdatedAt: unpackTime(p.updated)}
	},
}

type packedTouchpoint struct {
	id, lead, campaign int64
	occurred, updated  int64
	kind               uint32
}

var touchpointCodec = codec[int64, source.Touchpoint, packedTouchpoint]{
	key: func(p packedTouchpoint) int64 { return p.id }, lead: func(p packedTouchpoint) int64 { return p.lead },
	pack: func(s *strs, t source.Touchpoint) (packedTouchpoint, bool) {
		p := packedTouchpoint{id: t.ID, lead: t.LeadID, campaign: t.CampaignID, kind: s.of(t.Kind)}
		return p, packTimes([]*int64{&p.occurred, &p.updated}, t.OccurredAt, t.UpdatedAt)
	},
	unpack: func(s *strs, p packedTouchpoint) source.Touchpoint {
		return source.Touchpoint{ID: p.id, LeadID: p.lead, CampaignID: p.campaign, Kind: s.str(p.kind),
			OccurredAt: unpackTime(p.occurred), UpdatedAt: unpackTime(p.updated)}
	},
}

// sortedStore keeps a big table's rows packed in one sorted slice, laid out by a full read:
// by key, or for a grouped table by lead then key (a lead's rows side by side, found by binary
// search) with an index by key beside it. No map entry per row: an activity costs its 40 packed
// bytes and 4 of index. The rows a delta read puts, and the rows that do not pack, live in a
// small overlay map that shadows the slice until the next full read lays everything out again.
type sortedStore[V comparable, C comparable] struct {
	c    codec[int64, V, C]
	s    *strs
	lead func(V) int64 // nil: not grouped

	base     []C
	idx      []int32 // grouped: positions in base, by key
	building bool    // a full read is filling base (see seal)
	dups     []int64 // keys read again while building, found before seal

	over     map[int64]V       // rows put since the layout, and rows that do not pack
	overLead map[int64][]int64 // grouped: overlay keys by lead (stale entries are skipped)
	shadowed int               // overlay keys that are also in base
}

func newSortedStore[V comparable, C comparable](c codec[int64, V, C], lead func(V) int64, building bool, hint int) *sortedStore[V, C] {
	st := &sortedStore[V, C]{c: c, s: newStrs(), lead: lead, building: building,
		over: map[int64]V{}, overLead: map[int64][]int64{}}
	if building {
		st.base = make([]C, 0, hint)
	}
	return st
}

func (st *sortedStore[V, C]) len() int { return len(st.base) + len(st.over) - st.shadowed }

// find is the position in base of key k, or -1.
func (st *sortedStore[V, C]) find(k int64) int {
	if st.lead == nil {
		i, ok := slices.BinarySearchFunc(st.base, k, func(c C, k int64) int { return cmp.Compare(st.c.key(c), k) })
		if ok {
			return i
		}
		return -1
	}
	i, ok := slices.BinarySearchFunc(st.idx, k, func(p int32, k int64) int { return cmp.Compare(st.c.key(st.base[p]), k) })
	if ok {
		return int(st.idx[i])
	}
	return -1
}

// leadRange is where a lead's rows are in base.
func (st *sortedStore[V, C]) leadRange(g int64) (int, int) {
	lo, _ := slices.BinarySearchFunc(st.base, g, func(c C, g int64) int { return cmp.Compare(st.c.lead(c), g) })
	hi := lo
	for hi < len(st.base) && st.c.lead(st.base[hi]) == g {
		hi++
	}
	return lo, hi
}

func (st *sortedStore[V, C]) has(k int64) bool {
	if st.building {
		return false // duplicates are found when the read is sealed
	}
	if _, ok := st.over[k]; ok {
		return true
	}
	return st.find(k) >= 0
}

func (st *sortedStore[V, C]) get(k int64) (V, bool) {
	if v, ok := st.over[k]; ok {
		return v, true
	}
	if i := st.find(k); i >= 0 {
		return st.c.unpack(st.s, st.base[i]), true
	}
	var zero V
	return zero, false
}

func (st *sortedStore[V, C]) put(k int64, v V) {
	if st.building {
		// Of rows read twice under one key the first stays. A row that packs goes to base and
		// its duplicates are found when sealed; one that does not goes to the overlay, where a
		// later read of its key is a duplicate now, and an earlier one in base is one then.
		if _, first := st.over[k]; first {
			st.dups = append(st.dups, k)
			return
		}
		if c, ok := st.c.pack(st.s, v); ok {
			st.base = append(st.base, c)
			return
		}
	}
	old, inOver := st.over[k]
	if inOver && st.lead != nil {
		st.unlink(k, st.lead(old))
	}
	if !inOver && !st.building && st.find(k) >= 0 {
		st.shadowed++
	}
	st.over[k] = v
	if st.lead != nil {
		g := st.lead(v)
		st.overLead[g] = append(st.overLead[g], k)
	}
}

func (st *sortedStore[V, C]) unlink(k, g int64) {
	ks := st.overLead[g]
	if i := slices.Index(ks, k); i >= 0 {
		ks = slices.Delete(ks, i, i+1)
	}
	if len(ks) == 0 {
		delete(st.overLead, g)
	} else {
		st.overLead[g] = ks
	}
}

func (st *sortedStore[V, C]) each(fn func(int64, V)) {
	for _, c := range st.base {
		k := st.c.key(c)
		if len(st.over) > 0 {
			if _, shadow := st.over[k]; shadow {
				continue
			}
		}
		fn(k, st.c.unpack(st.s, c))
	}
	for k, v := range st.over {
		fn(k, v)
	}
}

func (st *sortedStore[V, C]) eachOf(g int64, fn func(V)) {
	lo, hi := st.leadRange(g)
	for _, c := range st.base[lo:hi] {
		if len(st.over) > 0 {
			if _, shadow := st.over[st.c.key(c)]; shadow {
				continue
			}
		}
		fn(st.c.unpack(st.s, c))
	}
	for _, k := range st.overLead[g] {
		fn(st.over[k])
	}
}

// eachIn calls fn for every row whose lead (grouped) or key (flat) is in [lo, hi) (hi =
// MaxInt64: no upper bound): a binary search into base, then the overlay's rows in the range.
func (st *sortedStore[V, C]) eachIn(lo, hi int64, fn func(V)) {
	by := st.c.key
	if st.lead != nil {
		by = st.c.lead
	}
	at, _ := slices.BinarySearchFunc(st.base, lo, func(c C, k int64) int { return cmp.Compare(by(c), k) })
	for _, c := range st.base[at:] {
		if by(c) >= hi && hi != math.MaxInt64 {
			break
		}
		if len(st.over) > 0 {
			if _, shadow := st.over[st.c.key(c)]; shadow {
				continue
			}
		}
		fn(st.c.unpack(st.s, c))
	}
	for k, v := range st.over {
		g := k
		if st.lead != nil {
			g = st.lead(v)
		}
		if g >= lo && (g < hi || hi == math.MaxInt64) {
			fn(v)
		}
	}
}

func (st *sortedStore[V, C]) fresh(full bool, hint int) rowStore[int64, V] {
	return newSortedStore(st.c, st.lead, full, hint)
}

// seal lays out what a full read put: sorted by key (stably, so of rows read twice under one
// key the first stays), each later duplicate dropped and returned, then for a grouped table
// re-sorted by lead with the index by key.
func (st *sortedStore[V, C]) seal() []int64 {
	if !st.building {
		return nil
	}
	st.building = false
	byKey := func(a, b C) int { return cmp.Compare(st.c.key(a), st.c.key(b)) }
	slices.SortStableFunc(st.base, byKey)
	dups := st.dups
	st.dups = nil
	out := st.base[:0]
	for i, c := range st.base {
		if i > 0 && st.c.key(c) == st.c.key(st.base[i-1]) {
			dups = append(dups, st.c.key(c))
			continue
		}
		out = append(out, c)
	}
	clear(st.base[len(out):])
	// Not clipped by a copy: that would hold two copies at once, at the cold start's peak. A
	// cold start's appends (no size hint) leave some room unused; the next full read is sized.
	st.base = out
	if st.lead != nil {
		slices.SortFunc(st.base, func(a, b C) int {
			if d := cmp.Compare(st.c.lead(a), st.c.lead(b)); d != 0 {
				return d
			}
			return byKey(a, b)
		})
		st.idx = make([]int32, len(st.base))
		for i := range st.idx {
			st.idx[i] = int32(i)
		}
		slices.SortFunc(st.idx, func(a, b int32) int { return byKey(st.base[a], st.base[b]) })
	}
	// A row that did not pack went to the overlay; if a row that packed came under its key
	// before it (after it, it was dropped in put), the overlay's is the duplicate.
	for k := range st.over {
		if st.find(k) >= 0 {
			dups = append(dups, k)
			st.dropOver(k)
		}
	}
	slices.Sort(dups)
	return slices.Compact(dups)
}

func (st *sortedStore[V, C]) dropOver(k int64) {
	if st.lead != nil {
		st.unlink(k, st.lead(st.over[k]))
	}
	delete(st.over, k)
}

// diff calls fn for each key in st (old) or newer with its old and new versions (nil when
// absent), walking both in key order: a reconciliation compares millions of rows, and a lookup
// per row would cost a binary search each.
func (st *sortedStore[V, C]) diff(newer rowStore[int64, V], fn func(k int64, old, new *V)) {
	n, ok := newer.(*sortedStore[V, C])
	if !ok {
		lookupDiff[int64, V](st, newer, fn)
		return
	}
	a, b := st.sorted(), n.sorted()
	for {
		ka, va, okA := a()
		kb, vb, okB := b()
		for okA && okB && ka != kb {
			if ka < kb {
				fn(ka, &va, nil)
				ka, va, okA = a()
			} else {
				fn(kb, nil, &vb)
				kb, vb, okB = b()
			}
		}
		switch {
		case okA && okB:
			fn(ka, &va, &vb)
		case okA:
			fn(ka, &va, nil)
			for k, v, ok := a(); ok; k, v, ok = a() {
				fn(k, &v, nil)
			}
			return
		case okB:
			fn(kb, nil, &vb)
			for k, v, ok := b(); ok; k, v, ok = b() {
				fn(k, nil, &v)
			}
			return
		default:
			return
		}
	}
}

// sorted iterates the store's rows in key order (the overlay merged in).
func (st *sortedStore[V, C]) sorted() func() (int64, V, bool) {
	over := make([]int64, 0, len(st.over))
	for k := range st.over {
		over = append(over, k)
	}
	slices.Sort(over)
	i, j := 0, 0
	var zero V
	at := func(i int) C {
		if st.lead == nil {
			return st.base[i]
		}
		return st.base[st.idx[i]]
	}
	return func() (int64, V, bool) {
		for i < len(st.base) {
			c := at(i)
			k := st.c.key(c)
			if _, shadow := st.over[k]; shadow {
				i++
				continue
			}
			if j < len(over) && over[j] < k {
				break
			}
			i++
			return k, st.c.unpack(st.s, c), true
		}
		if j < len(over) {
			k := over[j]
			j++
			return k, st.over[k], true
		}
		return 0, zero, false
	}
}

// mapStore keeps a small table's rows by key, as decoded.
type mapStore[K comparable, V comparable] map[K]V

func (m mapStore[K, V]) len() int                              { return len(m) }
func (m mapStore[K, V]) has(k K) bool                          { _, ok := m[k]; return ok }
func (m mapStore[K, V]) get(k K) (V, bool)                     { v, ok := m[k]; return v, ok }
func (m mapStore[K, V]) put(k K, v V)                          { m[k] = v }
func (m mapStore[K, V]) seal() []K                             { return nil }
func (m mapStore[K, V]) fresh(_ bool, hint int) rowStore[K, V] { return make(mapStore[K, V], hint) }
func (m mapStore[K, V]) each(fn func(K, V)) {
	for k, v := range m {
		fn(k, v)
	}
}
func (m mapStore[K, V]) diff(newer rowStore[K, V], fn func(k K, old, new *V)) {
	lookupDiff[K, V](m, newer, fn)
}

// lookupDiff is diff by lookups, for stores that cannot be walked in key order.
func lookupDiff[K comparable, V comparable](older, newer rowStore[K, V], fn func(k K, old, new *V)) {
	newer.each(func(k K, v V) {
		if old, ok := older.get(k); ok {
			fn(k, &old, &v)
		} else {
			fn(k, nil, &v)
		}
	})
	older.each(func(k K, old V) {
		if !newer.has(k) {
			fn(k, &old, nil)
		}
	})
}
