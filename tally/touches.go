package tally

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-oss/tandem/source"
)

// The live campaign tally keeps no touchpoint rows: it keeps each lead's touches (when, which
// campaign, what kind), encoded, in a touchStore. From them it takes a changed lead's old numbers
// out of its sums, and the CRM tally reads them (Touches) for what marketing did for its leads:
// the campaign that produced a lead, whether marketing sourced or influenced a deal, attribution.

// Touches is what the CRM tally reads of the campaign database: each lead's marketing touches in
// time order and each campaign's labels.
type Touches interface {
	Of(lead int64) []Touch
	Ref(campaign int64) CampaignRef
	Known(campaign int64) bool
}

// leadTouches is what the campaign tally keeps of one lead's touchpoints.
type leadTouches struct {
	touches []keptTouch // in time order, then id
	digest  DigestSum   // of every row read, repeated ids included
	dups    int         // rows of an id read before, left out (CheckDuplicateID)
}

type keptTouch struct {
	at       time.Time
	campaign int64 // 0: none
	kind     string
}

// foldTouches makes a lead's leadTouches from its touchpoint rows, in any order: in time order,
// then id, the first row of an id kept. It sorts rows in place, and writes the touches in into's
// room (nil: a new slice), for a caller that stores them at once (storeTouches: a slice a lead
// was 0.13 GB of a 1M cold start's allocations).
func foldTouches(rows []source.Touchpoint, into []keptTouch) leadTouches {
	slices.SortStableFunc(rows, func(a, b source.Touchpoint) int {
		if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	lt := leadTouches{touches: slices.Grow(into[:0], len(rows))}
	// The ids seen: a lead has a few touchpoints, most often, and a scan of them costs less
	// than a map per lead (a million leads' at a cold start); a map past seenScan.
	var small [seenScan]int64
	seen := small[:0]
	var many map[int64]bool
	for _, x := range rows {
		lt.digest.N++
		lt.digest.Sum += x.Digest
		dup := false
		if many != nil {
			dup = many[x.ID]
			many[x.ID] = true
		} else {
			dup = slices.Contains(seen, x.ID)
			if !dup && len(seen) == seenScan {
				many = make(map[int64]bool, len(rows))
				for _, id := range seen {
					many[id] = true
				}
				many[x.ID] = true
			} else if !dup {
				seen = append(seen, x.ID)
			}
		}
		if dup {
			lt.dups++
			continue
		}
		lt.touches = append(lt.touches, keptTouch{at: x.OccurredAt, campaign: x.CampaignID, kind: touchKind(x.Kind)})
	}
	return lt
}

const seenScan = 32

// touchKind is a touchpoint's kind as a label value: trimmed, lower case; a row's kind is most
// often lower case already, which strings.ToLower returns as it is, without a copy.
func touchKind(kind string) string { return strings.ToLower(clean(kind)) }

func encodeTouches(b []byte, d *strs, lt leadTouches) []byte {
	e := encoder{b: b, d: d}
	e.uint(uint64(len(lt.touches)))
	e.uint(uint64(lt.dups))
	// The count is that of every row read: the touches kept and the repeated ids left out.
	e.sum32(lt.digest.Sum)
	var base int64
	if len(lt.touches) > 0 {
		base = d.timeBase(lt.touches[0].at)
	}
	for _, t := range lt.touches {
		e.time(t.at, base)
		base = t.at.Unix()
		e.campaignKind(t.campaign, d.code(t.kind))
	}
	return e.b
}

// kindBits is how many bits of a touch's campaign-and-kind number hold its kind's code: a
// campaign id under 1024 and one of the first seven kinds take two bytes, not three.
const kindBits = 3

// campaignKind writes a touch's campaign (0: none) and its kind's code as one number; a kind
// code of kindBits ones or more, or a campaign too large to share the number (a hashed text id),
// is written as an escape followed by both, whole.
func (e *encoder) campaignKind(campaign int64, kind uint32) {
	const escape = 1<<kindBits - 1
	zz := uint64(campaign<<1 ^ campaign>>63)
	if kind >= escape || zz >= 1<<(64-kindBits) {
		e.uint(escape)
		e.uint(uint64(kind))
		e.uint(zz)
		return
	}
	e.uint(zz<<kindBits | uint64(kind))
}

func (r *decoder) campaignKind() (int64, string) {
	const escape = 1<<kindBits - 1
	v := r.uint()
	zz, code := v>>kindBits, v&escape
	if v == escape {
		code, zz = r.uint(), r.uint()
	}
	if r.err != nil || code >= uint64(len(r.d.list)) {
		r.fail()
		return 0, ""
	}
	return unzig(zz), r.d.str(code)
}

// touchesHead reads what a lead's touches record starts with: how many touches it keeps, how
// many repeated ids were left out, and the sum of every row's digest modulo 2^32.
func (r *decoder) touchesHead() (n, dups uint64, sum int64) {
	n, dups = r.uint(), r.uint()
	return n, dups, r.sum32()
}

func decodeTouches(b []byte, d *strs) (leadTouches, error) { return decodeTouchesInto(b, d, nil) }

// decodeTouchesInto is decodeTouches with the touches written over into's room, when it has
// enough: for a caller that reads each lead's touches once and keeps none (eachTouches' callers),
// where a slice a lead was 0.1 GB of a 1M cold start's allocations.
func decodeTouchesInto(b []byte, d *strs, into []keptTouch) (leadTouches, error) {
	lt := leadTouches{touches: into[:0]}
	n, dups, sum, err := eachTouchIn(b, d, func(t keptTouch) { lt.touches = append(lt.touches, t) })
	lt.digest, lt.dups = DigestSum{int64(n) + int64(dups), sum}, int(dups)
	if len(lt.touches) == 0 {
		lt.touches = nil
	}
	return lt, err
}

// eachTouchIn reads a lead's touches record (encodeTouches): its head (how many touches it
// keeps, how many repeated ids were left out, the sum of every row's digest), and each touch in
// order to fn, its time relative to the one before. The one reader of the record's touches.
func eachTouchIn(b []byte, d *strs, fn func(keptTouch)) (n, dups uint64, sum int64, err error) {
	r := decoder{b: b, d: d}
	n, dups, sum = r.touchesHead()
	if r.err == nil && n > uint64(len(b)) {
		r.fail()
	}
	base := d.base
	for i := uint64(0); i < n && r.err == nil; i++ {
		t := keptTouch{at: r.time(base)}
		base = t.at.Unix()
		t.campaign, t.kind = r.campaignKind()
		fn(t)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return n, dups, sum, r.err
}

// appendTouches appends the touches of a lead's record, as the CRM side reads them, to dst:
// decodeTouches then Of made two slices a lead, 0.3 GB of a 1M cold start's allocations, for
// touches that the join reads once.
func appendTouches(dst []Touch, b []byte, d *strs) ([]Touch, error) {
	_, _, _, err := eachTouchIn(b, d, func(t keptTouch) { dst = append(dst, Touch{At: t.at.UnixNano(), Campaign: t.campaign}) })
	return dst, err
}

// touchStore keeps every lead's touches (leadTouches), by lead id. The campaign tally writes it;
// the CRM tally, polled on its own schedule, reads it at the same time (the lock).
type touchStore struct {
	mu sync.RWMutex
	logStore
	d strs
}

func newTouchStore() *touchStore { return &touchStore{logStore: newLogStore()} }

func (s *touchStore) get(lead int64) (leadTouches, bool) { return s.getInto(lead, nil) }

// getInto is get with the touches decoded into into's room (see decodeTouchesInto).
func (s *touchStore) getInto(lead int64, into []keptTouch) (leadTouches, bool) {
	rec := s.recordOf(lead)
	if rec == nil {
		return leadTouches{}, false
	}
	return s.decode(rec, into), true
}

// decode decodes a record of the store's (see decodeTouchesInto).
func (s *touchStore) decode(rec []byte, into []keptTouch) leadTouches {
	lt, err := decodeTouchesInto(rec, &s.d, into)
	if err != nil {
		panic(err) // the store wrote it: a bug, not bad data
	}
	return lt
}

// put stores a lead's touches (none: forgets the lead).
func (s *touchStore) put(lead int64, lt leadTouches) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lt.digest.N == 0 {
		s.Delete(lead)
		return
	}
	s.putEncoded(lead, 0, func(b []byte) []byte { return encodeTouches(b, &s.d, lt) })
}

// Of returns a lead's touches in time order (Touches).
func (s *touchStore) Of(lead int64) []Touch { return s.appendOf(lead, nil) }

// appendOf appends a lead's touches to into (see touchesOf).
func (s *touchStore) appendOf(lead int64, into []Touch) []Touch {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.recordOf(lead)
	if rec == nil {
		return into
	}
	out, err := appendTouches(into, rec, &s.d)
	if err != nil {
		panic(err) // the store wrote it: a bug, not bad data
	}
	return out
}

// touchesOf appends a lead's touches to into: decoded into it where t can (the store's), t.Of's
// otherwise. For a caller that reads them once and keeps none (a join: summarizeTouches copies
// what it keeps), into is reused lead after lead.
func touchesOf(t touchSource, lead int64, into []Touch) []Touch {
	if s, ok := t.(interface {
		appendOf(lead int64, into []Touch) []Touch
	}); ok {
		return s.appendOf(lead, into)
	}
	return append(into, t.Of(lead)...)
}

// touchSource is what gives each lead's touches (Touches, a store).
type touchSource interface{ Of(lead int64) []Touch }

// eachDigest calls fn with every lead's digest of its touchpoints.
func (s *touchStore) eachDigest(fn func(lead int64, d DigestSum)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.each(func(id int64, p uint32) bool {
		r := decoder{b: s.record(p), d: &s.d}
		n, dups, sum := r.touchesHead()
		fn(id, DigestSum{int64(n) + int64(dups), sum})
		return true
	})
}

// withRefs is a Touches of a store's touches and the campaigns' labels as a poll saw them: a
// CRM poll counts every lead with the same labels, whatever the campaign side does meanwhile.
type withRefs struct {
	store touchSource
	refs  map[int64]CampaignRef
}

func (w withRefs) Of(lead int64) []Touch { return w.store.Of(lead) }

func (w withRefs) appendOf(lead int64, into []Touch) []Touch { return touchesOf(w.store, lead, into) }

func (w withRefs) Ref(campaign int64) CampaignRef { return refOf(w.refs, campaign) }
func (w withRefs) Known(campaign int64) bool      { return knownIn(w.refs, campaign) }

// replace makes the store's contents those of a store built apart (a full recount's), which the
// CRM side may be reading meanwhile.
func (s *touchStore) replace(n *touchStore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logStore, s.d = n.logStore, n.d
}

// eachTouches calls fn with every lead's touches, in no particular order; lt.touches is valid
// until fn returns (the next lead's are decoded into it). fn must not write to the store.
//
// The store is walked where it lies, under the read lock: only the campaign tally writes it, and
// it is the one caller (a roll-over's recount, at every hour); the CRM side's reads go on
// meanwhile. A sorted copy of the ids, then a search for each, was 8 MB allocated at a million
// leads at every hour's roll-over: the reconciliation's poll, the exporter's peak memory after
// the cold start.
func (s *touchStore) eachTouches(fn func(lead int64, lt leadTouches)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var buf []keptTouch
	s.each(func(id int64, p uint32) bool {
		lt := s.decode(s.record(p), buf)
		buf = lt.touches
		fn(id, lt)
		return true
	})
}
