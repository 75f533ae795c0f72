package tally

import (
	"unsafe"

	"github.com/tandem-oss/tandem/fiscal"
)

// The samples a tally's leads add to, looked up once per tally rather than once per lead.
//
// A lead's numbers add to some forty series (created, each stage entered, each cohort, touches,
// follow-up, in each window of the period), and naming a series costs building its label key
// and hashing it: at a million leads that was most of a cold start's second pass. Leads share
// their label values (a tuple: their sales dimensions, their lead dimensions), so finishRows
// numbers each tuple once per lead (tuples) and finds a series by what names it, with no key to
// build: its snapshot, metric, window (or atom), the label before the tuple, and the tuple.
type line struct {
	s *Snapshot
	// name and first (the one label between the window and the tuple, if hasFirst) are keyed
	// by where their bytes are, not by their bytes: hashing two pointers is what made this
	// cheaper than the label key. Equal strings in two places only make two keys for one
	// sample (each finds it through Snapshot.sample): the counts stay right.
	name, first       *byte
	nameLen, firstLen int32
	// win is the window's index (a period metric), noWindow, or atomWindow (a quantile: mask)
	win      int8
	hasFirst bool
	mask     fiscal.Mask
	tuple    int32
}

// names gives back the name and first label a line was made of (lineOf): the line points at
// their bytes, which keeps them alive.
func (k line) names() (name, first string) {
	return unsafe.String(k.name, k.nameLen), unsafe.String(k.first, k.firstLen)
}

// lineOf is the line of a metric's series: win, mask and tuple as line's.
func lineOf(s *Snapshot, name, first string, hasFirst bool, win int8, mask fiscal.Mask, tuple int32) line {
	return line{s: s, name: unsafe.StringData(name), nameLen: int32(len(name)), first: unsafe.StringData(first),
		firstLen: int32(len(first)), win: win, hasFirst: hasFirst, mask: mask, tuple: tuple}
}

const (
	noWindow   = -1
	atomWindow = -2
	maskWindow = -3 // a sum's additions in every window of a mask, not yet spread (lines.spread)
)

// lines is a tally's line cache, set only while finishRows runs (the samples' snapshots only
// grow then, so a sample found stays the series' sample).
type lines struct {
	spans   fiscal.Spans
	samples map[line]*Sample
	// masked holds inLine's sums by mask (maskWindow lines) until they are spread. Its entries
	// stay from round to round (a full recount's worker keeps its lines), each with the samples
	// of its windows once found: a spread adds to them without a lookup a window, and only the
	// entries added to since the last spread (pending).
	masked  map[line]*masked
	pending []*masked
	// recent is a direct-mapped cache in front of masked: a lead's forty additions go to a
	// thousand lines or so a round, and a slot's hash and compare cost less than a map lookup
	// of the 48-byte key (0.6 s of a cold start's 12 s of CPU at a million leads).
	recent slots[line, *masked]
	// tuples' own direct-mapped cache (tupleOf), keyed by where the labels' bytes are.
	recentTuples slots[tupleKey, int32]
	tuples       map[string]int32
	labels       [][]string // by tuple
	kb           []byte
	// byRaw is what a lead's raw dimension values publish as (CRM.labelsOf), by those values:
	// the leads of a round share a few hundred tuples, and folding each lead's values anew was
	// two slices and a dozen map lookups a lead.
	byRaw map[string]published
	rb    []byte
	// recentRaw is byRaw's direct-mapped cache, keyed by where the raw values' bytes are (the
	// facts' decoder and the rows' interner give a value one place): building and hashing the
	// key of their bytes was 2 % of a 1M cold start's CPU.
	recentRaw slots[rawKey, published]
}

// rawKey names a lead's raw dimension values (up to five: every dimension) by where their bytes
// are and their lengths, as tupleKey does label values.
type rawKey struct {
	p [5]*byte
	l [5]int32
	n int32
}

// published is what a tuple of raw dimension values publishes as: the sales and lead labels
// (shared by the leads that have them: never written to) and their tuples.
type published struct {
	sales, lead []string
	st, lt      int32
}

// masked is what the additions of one line in one mask of windows add up to: each window's
// sample gets them all when they are spread.
type masked struct {
	k       line
	n, rows int64     // since the last spread: none (both 0) when it is not pending
	to      []*Sample // the samples of k's windows, found at its first spread
}

// hash is a multiplicative hash of what tells lines apart (lines.recent).
func (k *line) hash() uint64 {
	h := mix(uint64(uintptr(unsafe.Pointer(k.name))), uint64(uintptr(unsafe.Pointer(k.first))))
	h = mix(h, uint64(uintptr(unsafe.Pointer(k.s))))
	return mix(h, uint64(k.mask)<<32^uint64(uint32(k.tuple)))
}

// mix adds v to a multiplicative (Fibonacci) hash h, whose top bits pick a slot.
func mix(h, v uint64) uint64 { return (h ^ v) * 0x9e3779b97f4a7c15 }

// slots is a direct-mapped cache: each key has one slot, picked by the top bits of its hash,
// which holds the last key put there and its value. A key found costs its hash and a compare.
type slots[K comparable, V any] struct {
	s    []slot[K, V]
	bits uint
}

type slot[K comparable, V any] struct {
	k  K
	v  V
	ok bool
}

// at is the slot of a key whose hash is h.
func (c *slots[K, V]) at(h uint64) *slot[K, V] { return &c.s[mix(h, 0)>>(64-c.bits)] }

func newSlots[K comparable, V any](bits uint) slots[K, V] {
	return slots[K, V]{s: make([]slot[K, V], 1<<bits), bits: bits}
}

// get returns k's value, from its slot or, when the slot holds another key, from miss (which
// then takes the slot).
func (c *slots[K, V]) get(k K, h uint64, miss func() V) V {
	s := c.at(h)
	if !s.ok || s.k != k {
		*s = slot[K, V]{k: k, v: miss(), ok: true}
	}
	return s.v
}

func newLines(spans fiscal.Spans) *lines {
	return &lines{spans: spans, samples: map[line]*Sample{}, masked: map[line]*masked{}, tuples: map[string]int32{},
		byRaw: map[string]published{}, recent: newSlots[line, *masked](12), recentTuples: newSlots[tupleKey, int32](8),
		recentRaw: newSlots[rawKey, published](8)}
}

// tupleKey names a tuple of up to three label values by where their bytes are and their
// lengths, as line names a metric: it points at them, which keeps them as they are. Equal values
// in two places make two keys for one tuple, which tuple numbers once.
type tupleKey struct {
	p [3]*byte
	l [3]int32
	n int32
}

// tupleOf is tuple through a direct-mapped cache keyed by where the values are: the campaign
// and deal numbers (CRM.in) name their labels a few times a lead from a few strings (a
// campaign's channel and label, a stage, a lead's sales labels), and building the key of their
// bytes and hashing it was 2 % of a 1M cold start's CPU.
func (ls *lines) tupleOf(labels []string) int32 {
	if len(labels) > len(tupleKey{}.p) {
		return ls.tuple(labels)
	}
	k := tupleKey{n: int32(len(labels))}
	h := addressesOf(labels, k.p[:], k.l[:])
	return ls.recentTuples.get(k, h, func() int32 { return ls.tuple(labels) })
}

// addressesOf puts where each of vals' bytes are and their lengths into p and l (a tupleKey's or
// a rawKey's, which have room for them) and returns their hash.
func addressesOf(vals []string, p []*byte, l []int32) uint64 {
	h := uint64(len(vals))
	for i, v := range vals {
		p[i], l[i] = unsafe.StringData(v), int32(len(v))
		h = mix(h, uint64(uintptr(unsafe.Pointer(p[i])))^uint64(len(v))<<48)
	}
	return h
}

// tuple numbers a tuple of label values (no allocation once it is known).
func (ls *lines) tuple(labels []string) int32 {
	ls.kb = appendKey(append(ls.kb[:0], byte(len(labels))), labels) // tuples of two lengths never share a key
	if t, ok := ls.tuples[string(ls.kb)]; ok {
		return t
	}
	t := int32(len(ls.labels))
	ls.tuples[string(ls.kb)] = t
	ls.labels = append(ls.labels, append([]string(nil), labels...))
	return t
}

// sample is the sample k names (name and first being its strings), counted as one more
// addition (Snapshot.sample).
func (ls *lines) sample(k line, name, first string) *Sample {
	if x := ls.samples[k]; x != nil {
		x.refs++
		return x
	}
	tl := ls.labels[k.tuple]
	labels := make([]string, 0, 2+len(tl))
	switch k.win {
	case noWindow:
	case atomWindow:
		labels = append(labels, atomLabel(k.mask))
	default:
		labels = append(labels, string(ls.spans[k.win].Window))
	}
	if k.hasFirst {
		labels = append(labels, first)
	}
	x := k.s.sample(name, append(labels, tl...))
	ls.samples[k] = x
	return x
}

// inLine is CRM.in with the labels after the window named as a line: first (if hasFirst) then
// the tuple's labels. For a sum that rows make up (n touches of a kind counted at once), rows
// counts each row as an addition (Sample.refs), however the rows were grouped, so the count does
// not depend on which of them happened to share their windows.
//
// The additions are summed by mask first, and spread over the mask's windows once finishRows has
// added every lead (lines.spread): leads share a few dozen masks, so a lead's forty additions
// cost one lookup each instead of one per window (five on average), the bulk of a cold start's
// second pass at a million leads.
func (c *CRM) inLine(s *Snapshot, m fiscal.Mask, name, first string, hasFirst bool, tuple int32, n, rows int64) {
	if m == 0 {
		return
	}
	ls := c.lines
	k := lineOf(s, name, first, hasFirst, maskWindow, m, tuple)
	x := ls.recent.get(k, k.hash(), func() *masked {
		x := ls.masked[k]
		if x == nil {
			x = &masked{k: k}
			ls.masked[k] = x
		}
		return x
	})
	if x.n == 0 && x.rows == 0 {
		// Not pending yet. (Were it added to with nothing, it would be listed twice, and its
		// second spread would add nothing.)
		ls.pending = append(ls.pending, x)
	}
	x.n += n
	x.rows += rows
}

// spread adds the sums inLine kept by mask to the samples of each of the mask's windows: n to
// each, and every row as an addition (Sample.refs), as if each had been added to each window.
func (ls *lines) spread() {
	for _, x := range ls.pending {
		if x.to == nil {
			k := x.k
			name, first := k.names()
			k.mask.Each(func(i int) {
				w := k
				w.win, w.mask = int8(i), 0
				y := ls.sample(w, name, first)
				y.refs-- // counted below with the rest
				x.to = append(x.to, y)
			})
		}
		for _, y := range x.to {
			y.N += x.n
			y.refs += x.rows
		}
		x.n, x.rows = 0, 0
	}
	ls.pending = ls.pending[:0]
}

// addLine is Snapshot.add with the labels named as a line (no window).
func (c *CRM) addLine(s *Snapshot, name, first string, tuple int32, n int64) {
	c.lines.sample(lineOf(s, name, first, true, noWindow, 0, tuple), name, first).N += n
}

// observeLine adds a value to a period quantile metric, once for all the windows of m
// (atomLabel), with at most one fixed label (first, if hasFirst) and the tuple's labels (the
// sales dimensions). Its overall family (metrics.Overall) is made from the same values at publish.
func (c *CRM) observeLine(s *Snapshot, m fiscal.Mask, name string, v float64, first string, hasFirst bool, tuple int32) {
	if m == 0 {
		return
	}
	x := c.lines.sample(lineOf(s, name, first, hasFirst, atomWindow, m, tuple), name, first)
	x.ownQ()
	x.Q.Add(v, 1)
}

// strMemo caches what a function makes of a string, for the few distinct values a column holds
// (activity kinds, lead statuses and sources), keyed by where the string's bytes are: the decoder interns
// repeated values, so every row of a value shares them, and a hit costs a pointer's hash and a
// compare instead of folding the value's case (which allocates when it has a capital) and looking
// it up. A string elsewhere with the same bytes only misses. The key points at the bytes, which
// keeps them as they are.
type strMemo[V any] struct{ s slots[strKey, V] }

// strKey names a string by where its bytes are and its length (strMemo, touchRef): equal
// strings at two addresses are two keys. It points at the bytes, which keeps them as they are.
type strKey struct {
	p *byte
	n int
}

func keyOf(s string) strKey { return strKey{unsafe.StringData(s), len(s)} }

// String is the string the key names.
func (k strKey) String() string { return unsafe.String(k.p, k.n) }

func (k strKey) hash() uint64 { return mix(uint64(uintptr(unsafe.Pointer(k.p))), uint64(k.n)) }

const strMemoBits = 6

// get returns miss(s), calling miss only when s's slot holds another string. A memo is its
// tally's own: it is written on reads, so no two goroutines share one. (It finds its slot
// with slots.at but does not call slots.get, whose miss would be a closure over s and miss
// made at every call, a call a row.)
func (m *strMemo[V]) get(s string, miss func(string) V) V {
	if m.s.s == nil {
		m.s = newSlots[strKey, V](strMemoBits)
	}
	k := keyOf(s)
	sl := m.s.at(k.hash())
	if !sl.ok || sl.k != k {
		*sl = slot[strKey, V]{k: k, v: miss(s), ok: true}
	}
	return sl.v
}
