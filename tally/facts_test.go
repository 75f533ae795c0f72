package tally

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/money"
)

// storeNow is the instant the tests' fact stores are made at.
var storeNow = time.Unix(1.75e9, 0)

// randomFacts makes facts of every shape: with and without a lead, marketing touches, deals of
// the lead or of no lead, problems, open reach bounds, times before 1970, with nanoseconds, zero.
func randomFacts(r *rand.Rand, id int64) *facts {
	when := func() time.Time {
		switch r.Intn(8) {
		case 0:
			return time.Time{}
		case 1:
			return time.Unix(-r.Int63n(1e9), r.Int63n(1e9)).UTC() // before 1970, with nanoseconds
		case 2:
			return time.Unix(1.7e9+r.Int63n(1e8), r.Int63n(1e9)).UTC()
		}
		return time.Unix(1.7e9+r.Int63n(1e8), 0).UTC()
	}
	pick := func(vs ...string) string { return vs[r.Intn(len(vs))] }
	bound := func(open int64) int64 { // what a store made at storeNow keeps exactly (reachCodec)
		if r.Intn(3) == 0 {
			return open
		}
		return newReachCodec(storeNow).base + (1+r.Int63n(reachLast))*reachHour
	}
	f := &facts{reach: reach{bound(math.MinInt64), bound(math.MaxInt64)}, volatile: r.Intn(5) == 0}
	for i := range f.digest {
		if n := r.Int63n(5); n > 0 && r.Intn(2) == 0 {
			f.digest[i] = DigestSum{n, int64(uint32(r.Int63()))} // kept modulo 2^32
		}
	}
	for i := r.Intn(3); i > 0; i-- {
		f.problems = append(f.problems, Problem{pick("leads", "activities"), pick(CheckNullSource, CheckTimestampInFuture, "bad_value")})
	}
	if r.Intn(4) > 0 {
		l := &lead{created: when(), mql: when(), sql: when(), disq: when(), firstTouch: when(), firstAny: when(),
			owner: r.Int63n(20) - 3, source: pick("webinar", "unknown", ""), region: pick("na", "emea"), segment: pick("smb", "ent"),
			status: pick("New", "MQL", ""), reason: pick("", "no budget"), attempts: r.Intn(300), reach: f.reach}
		if l.created.IsZero() {
			l.created = time.Unix(1.7e9, 0).UTC()
		}
		for i := r.Intn(4); i > 0; i-- {
			l.touches = append(l.touches, kindCount{kind: pick("call", "email"), in: fiscal.Mask(r.Intn(1 << 10)), n: 1 + r.Int63n(5000)})
		}
		if r.Intn(2) == 0 {
			m := &marketingFacts{}
			if r.Intn(2) == 0 {
				m.producer, m.hasProducer = r.Int63n(10)-2, true
			}
			for i := r.Intn(4); i > 0; i-- {
				m.touches = append(m.touches, Touch{At: when().UnixNano(), Campaign: r.Int63n(7)})
			}
			l.mkt = m
		}
		f.lead = l
	}
	for i := r.Intn(3); i > 0; i-- {
		o := opportunity{entity: id, amount: money.Cents(r.Int63n(1e12) - 1e6), stage: pick("proposal", "closed won"),
			created: when(), closed: when(), isClosed: r.Intn(2) == 0, isWon: r.Intn(3) == 0}
		if d := when(); !d.IsZero() {
			y, m, dd := d.Date()
			o.expected = time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
		}
		if f.lead != nil && r.Intn(3) > 0 {
			o.leadID = id
		}
		f.deals = append(f.deals, o)
	}
	return f
}

func TestFactsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	d := &strs{}
	for i := 0; i < 5000; i++ {
		id := r.Int63n(1e6) - 1000
		want := randomFacts(r, id)
		b := encodeFacts(nil, d, want, i%7)
		got, epoch, err := decodeFacts(nil, b, d, id, want.reach)
		if err != nil {
			t.Fatal(err)
		}
		if epoch != i%7 {
			t.Fatalf("epoch %d, want %d", epoch, i%7)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: got\n%+v\nwant\n%+v\nlead %+v / %+v", i, got, want, got.lead, want.lead)
		}
		// A truncated record is an error, never a panic or a wrong value.
		if _, _, err := decodeFacts(nil, b[:len(b)-1], d, id, want.reach); err == nil {
			t.Fatalf("record %d: a truncated record decodes", i)
		}
	}
}

// TestFactStoreMatchesMap: through random puts, deletes, in and out of id order, and roll-overs,
// the store gives back what a plain map holds, its masks moved through the roll-overs since.
func TestFactStoreMatchesMap(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		for _, memo := range []bool{false, true} {
			name := map[bool]string{false: "compacting", true: "lazy"}[lazy] + map[bool]string{true: "/memoized"}[memo]
			t.Run(name, func(t *testing.T) { factStoreMatchesMap(t, lazy, memo) })
		}
	}
}

// factStoreMatchesMap is TestFactStoreMatchesMap with the store lazy (logStore.lazy: dead space
// left to tidy) or not, and keeping copies of the records it reads (recordMemo) through the
// whole history or not: a copy must never outlive the record it copied, whatever was written,
// compacted and given back since.
func factStoreMatchesMap(t *testing.T, lazy, memo bool) {
	r := rand.New(rand.NewSource(2))
	s := newFactStore(storeNow)
	s.lazy = lazy
	s.memoize(memo)
	want := map[int64]*facts{}
	epochs := map[int64]int{}
	var rolls [][]int
	next := int64(0)
	for step := 0; step < 60000; step++ {
		switch k := r.Intn(100); {
		case k < 45: // a new lead, mostly in id order
			id := next + 1 + r.Int63n(3)
			if r.Intn(10) == 0 {
				id = r.Int63n(next+10) - 5
			}
			next = max(next, id)
			f := randomFacts(r, id)
			s.Put(id, f)
			want[id], epochs[id] = f, len(rolls)
		case k < 84: // a changed one
			id := r.Int63n(next + 1)
			f := randomFacts(r, id)
			s.Put(id, f)
			want[id], epochs[id] = f, len(rolls)
		case k < 85: // a run of them rewritten where the index walk found them (joinStored)
			n := s.settleIndex()
			lo := r.Intn(n + 1)
			var at []storedAt
			s.eachAt(lo, min(n, lo+1+r.Intn(200)), func(i int, id int64, p uint32) { at = append(at, storedAt{i, id, p}) })
			for _, x := range at {
				f := randomFacts(r, x.id)
				s.putAt(x.i, x.id, f)
				want[x.id], epochs[x.id] = f, len(rolls)
			}
		case k < 99:
			id := r.Int63n(next + 1)
			s.Delete(id)
			delete(want, id)
		default:
			from := make([]int, 10)
			for j := range from {
				from[j] = r.Intn(11) - 1
			}
			s.roll(from)
			rolls = append(rolls, from)
		}
		if step%10000 == 9999 || step == 0 {
			check(t, s, want, epochs, rolls)
		}
	}
	check(t, s, want, epochs, rolls)
	sealed := 0
	for _, c := range s.chunks {
		if c.sealed != nil {
			sealed++
		}
	}
	if sealed == 0 {
		t.Fatalf("no chunk of %d was sealed: the reads went through none", len(s.chunks))
	}
	if live, total := space(&s.logStore); !lazy && total > 3*live+2*chunkSize {
		t.Errorf("the store holds %d bytes for %d live: dead space is not given back", total, live)
	} else if lazy && (len(s.empty) > 0 || total < live*3/2) {
		t.Errorf("a lazy store holds %d bytes for %d live, %d chunks emptied: it compacted as it went", total, live, len(s.empty))
	}
	// tidy gives back every chunk's dead space but the current one's, and loses nothing.
	s.tidy()
	check(t, s, want, epochs, rolls)
	if live, total := space(&s.logStore); total > 3*live+2*chunkSize {
		t.Errorf("after tidy the store holds %d bytes for %d live", total, live)
	}
	if memo && (s.emptied == 0 || len(s.memo.recs) == 0) {
		t.Fatalf("the history gave back %d chunks and left %d copies: it tested no copy against a moved record", s.emptied, len(s.memo.recs))
	}
	for ci, c := range s.chunks {
		if ci != s.cur && c.dead > 0 {
			t.Errorf("after tidy, chunk %d has %d dead records of %d", ci, c.dead, c.recs)
		}
	}
}

func check(t *testing.T, s *factStore, want map[int64]*facts, epochs map[int64]int, rolls [][]int) {
	t.Helper()
	checkDead(t, &s.logStore)
	if s.Len() != len(want) {
		t.Fatalf("store holds %d entities, want %d", s.Len(), len(want))
	}
	for id, w := range want {
		got, ok := s.Get(id)
		if !ok {
			t.Fatalf("entity %d missing", id)
		}
		if w.lead != nil {
			// The masks as the roll-overs since the record was written move them.
			c := *w.lead
			c.touches = append([]kindCount(nil), w.lead.touches...)
			for i := range c.touches {
				for _, from := range rolls[epochs[id]:] {
					c.touches[i].in = remap(c.touches[i].in, from)
				}
			}
			wc := *w
			wc.lead = &c
			w = &wc
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("entity %d: got %+v, want %+v", id, got, w)
		}
	}
	seen := 0
	s.eachReach(func(id int64, r reach) bool {
		seen++
		if w, ok := want[id]; !ok || w.reach != r {
			t.Fatalf("reach of %d: %v", id, r)
		}
		return true
	})
	if seen != len(want) {
		t.Fatalf("eachReach saw %d entities, want %d", seen, len(want))
	}
	seen = 0
	s.eachDigest(func(id int64, d Digest) {
		seen++
		if w, ok := want[id]; !ok || w.digest != d {
			t.Fatalf("digest of %d: %v", id, d)
		}
	})
	if seen != len(want) {
		t.Fatalf("eachDigest saw %d entities, want %d", seen, len(want))
	}
}

// A reach is kept to the hour, in two bytes a bound (reachCodec): read back, it says a lead may
// reach into new periods whenever the reach as noted did (it may say so more often, which costs
// a recount), whatever the bounds: none, before the base, past what two bytes hold, on the hour
// or not; bounds on the hour within the range read back as noted.
func TestReachKeptToTheHour(t *testing.T) {
	c := newReachCodec(storeNow)
	now := storeNow.Unix()
	r := rand.New(rand.NewSource(4))
	bound := func(open int64) int64 {
		switch r.Intn(6) {
		case 0:
			return open
		case 1: // anywhere, before the base and past the range too
			return r.Int63n(4e9) - 1e9
		case 2: // on the hour
			return c.base + r.Int63n(reachOpen+10)*reachHour
		}
		return now + r.Int63n(4*86400) - 2*86400 // near now
	}
	for i := 0; i < 200000; i++ {
		x := reach{bound(math.MinInt64), bound(math.MaxInt64)}
		got := c.unpack(c.pack(x))
		// A roll-over's new periods start after the base (the clock has not gone back years).
		lo := now + r.Int63n(3*86400) - 86400
		hi := lo + 1 + r.Int63n(2*86400)
		if x.within(lo, hi) && !got.within(lo, hi) {
			t.Fatalf("reach %v read back as %v: within(%d, %d) no longer holds", x, got, lo, hi)
		}
		onHour := func(v, open int64) bool {
			return v == open || (v-c.base)%reachHour == 0 && v > c.base && v < c.base+reachLast*reachHour
		}
		if onHour(x.past, math.MinInt64) && onHour(x.ahead, math.MaxInt64) && got != x {
			t.Fatalf("reach %v on the hour read back as %v", x, got)
		}
	}
	s := newFactStore(storeNow)
	s.Put(7, &facts{reach: noReach})
	want := reach{c.base + 5*reachHour, math.MaxInt64}
	s.setReach(7, want)
	if f, _ := s.Get(7); f.reach != want {
		t.Errorf("setReach: %v", f.reach)
	}
}

func TestRemap(t *testing.T) {
	// At midnight on a Tuesday: today (0) is fresh, yesterday (1) was today; the rest stay.
	from := []int{-1, 0, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, c := range []struct{ in, out fiscal.Mask }{
		{0b1, 0b10},      // today's touch is yesterday's
		{0b10, 0},        // yesterday's is in no day window any more
		{0b101, 0b110},   // today and this week: yesterday and this week
		{0b1100, 0b1100}, // weeks stay
	} {
		if got := remap(c.in, from); got != c.out {
			t.Errorf("remap(%b) = %b, want %b", c.in, got, c.out)
		}
	}
}

// A digest's sum is kept modulo 2^32 (the row digests are 32-bit), in four bytes: whatever the
// sum a poll added up (negative, past 2^32), it reads back the Same, and a touches record's
// count is its touches and repeated ids.
func TestDigestSumsKeptModulo32Bits(t *testing.T) {
	d := &strs{}
	for _, sum := range []int64{0, 1, -1, math.MaxInt32 + 5, math.MinInt32 * 3, math.MaxInt64, math.MinInt64} {
		f := &facts{reach: noReach}
		f.digest[DigestActivities] = DigestSum{N: 3, Sum: sum}
		b := encodeFacts(nil, d, f, 0)
		got, _, err := decodeFacts(nil, b, d, 1, noReach)
		if err != nil {
			t.Fatal(err)
		}
		g := got.digest[DigestActivities]
		if !g.Same(f.digest[DigestActivities]) || g.Sum < 0 || g.Sum > math.MaxUint32 {
			t.Errorf("sum %d read back as %d", sum, g.Sum)
		}
		if g.Same(DigestSum{N: 3, Sum: sum + 1}) || g.Same(DigestSum{N: 2, Sum: sum}) {
			t.Errorf("sum %d: Same does not tell another sum or count apart", sum)
		}
		lt := leadTouches{touches: []keptTouch{{at: time.Unix(1e9, 0), kind: "email"}}, digest: DigestSum{N: 3, Sum: sum}, dups: 2}
		back, err := decodeTouches(encodeTouches(nil, d, lt), d)
		if err != nil || back.digest.N != 3 || !back.digest.Same(lt.digest) || back.dups != 2 {
			t.Errorf("touches with sum %d read back as %+v, %v", sum, back.digest, err)
		}
	}
}

// A touch's campaign and kind share one number when both are small, and are written whole
// otherwise: every campaign id (none, small, negative, a hashed text id, the ends of int64) and
// every kind code read back, the first store time too.
func TestTouchCampaignKind(t *testing.T) {
	d := &strs{}
	var kinds []string
	for i := range 12 {
		kinds = append(kinds, "kind"+string(rune('a'+i)))
	}
	var lt leadTouches
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, c := range []int64{0, 1, -1, 1023, 1024, 1 << 40, textID("701Hs000001a2b3"), math.MaxInt64, math.MinInt64} {
		for _, k := range kinds {
			at = at.Add(time.Duration(i+1) * time.Minute)
			lt.touches = append(lt.touches, keptTouch{at: at, campaign: c, kind: k})
		}
	}
	lt.digest = DigestSum{N: int64(len(lt.touches)), Sum: 12345}
	back, err := decodeTouches(encodeTouches(nil, d, lt), d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.touches, lt.touches) {
		t.Errorf("touches read back differ:\n got %v\nwant %v", back.touches, lt.touches)
	}
}

func textID(s string) int64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return int64(h | 1<<63)
}

// checkDead: every chunk's records less its dead ones are exactly the indexed records it holds.
// The compaction empties a chunk once it has moved out as many records as it had live, and
// free gives one back once all its records are dead, so a miscount would empty a chunk that
// still holds records.
func checkDead(t *testing.T, s *logStore) {
	t.Helper()
	used := make([]int, len(s.chunks))
	s.each(func(_ int64, p uint32) bool {
		used[p>>chunkBits]++
		return true
	})
	for ci, c := range s.chunks {
		if live := c.recs - c.dead; live != used[ci] {
			t.Fatalf("chunk %d: %d records, %d counted dead, but %d are indexed", ci, c.recs, c.dead, used[ci])
		}
	}
}

// size is how many bytes of its chunk the record at p takes, its length included.
func (s *logStore) size(p uint32) int {
	n := len(s.record(p))
	var b [binary.MaxVarintLen64]byte
	return n + binary.PutUvarint(b[:], uint64(n))
}

// TestCompactionReusesChunks: compacting chunks that a rewrite left half dead needs only a
// chunk or two more than the live records, each chunk being written again once its records
// have moved, not a second copy of every live record.
func TestCompactionReusesChunks(t *testing.T) {
	const n = 40000 // about 8 MiB: 8 chunks
	s, rec := filledStore(n)
	for id := int64(0); id < n; id += 2 { // every other record rewritten: each chunk half dead
		rec[0] = byte(id + 1)
		s.putRecord(id, rec)
	}
	checkDead(t, &s)
	before := len(s.chunks)
	s.tidy()
	checkDead(t, &s)
	if grown := len(s.chunks) - before; grown > 2 {
		t.Errorf("tidy grew the log from %d chunks to %d: it held the moved records beside the old ones", before, len(s.chunks))
	}
	for id := range int64(n) {
		want := byte(id)
		if id%2 == 0 {
			want = byte(id + 1)
		}
		if r := s.recordOf(id); len(r) != len(rec) || r[0] != want {
			t.Fatalf("record %d lost in the compaction", id)
		}
	}
}

// TestLazyStoreBoundsDeadSpace: a lazy store rewritten whole (a cold start joining every lead
// to its touches) lets at most lazyChunks chunks wait half dead, compacting them together, so
// the dead space it holds stays a share of the log rather than the whole of what was rewritten.
func TestLazyStoreBoundsDeadSpace(t *testing.T) {
	bound := func(chunks int) int { return max(16, chunks/8) } // lazyChunks, as documented

	const n = 200000 // about 40 MiB: 40 chunks, rewritten into 40 more
	s, rec := filledStore(n)
	worst := 0
	for id := range int64(n) {
		rec[0] = byte(id + 1)
		s.putRecord(id, rec)
		if id%1000 == 0 {
			half := 0
			for ci, c := range s.chunks {
				if ci != s.cur && c.mostlyDead() {
					half++
				}
			}
			if half > bound(len(s.chunks)) {
				t.Fatalf("after %d rewrites %d chunks wait half dead, more than %d", id+1, half, bound(len(s.chunks)))
			}
			worst = max(worst, half)
		}
	}
	if worst == 0 {
		t.Fatal("no chunk ever waited half dead: the store compacted at once, not lazily")
	}
	checkDead(t, &s)
	live, total := space(&s)
	if limit := live + (bound(len(s.chunks))+2)*chunkSize; total > limit {
		t.Errorf("the lazy store holds %d bytes for %d live: more dead space than %d chunks", total, live, bound(len(s.chunks))+2)
	}
	for id := range int64(n) {
		if r := s.recordOf(id); len(r) != len(rec) || r[0] != byte(id+1) {
			t.Fatalf("record %d lost", id)
		}
	}
}

// TestRewriteInOrderGivesChunksBack: a store rewritten whole in id order (a cold start joining
// the leads stored before the touches were in) gives each chunk back as its last record is
// rewritten, so that it holds about one chunk more than its live records all along, not the
// dead chunks of the rewrite until a compaction.
func TestRewriteInOrderGivesChunksBack(t *testing.T) {
	const n = 100000 // about 20 MiB: 20 chunks
	s, rec := filledStore(n)
	for id := range int64(n) {
		rec[0] = byte(id + 1)
		rec = append(rec[:200], make([]byte, id%2)...) // records that no longer fit where they were
		s.putRecord(id, rec)
		if id%500 != 0 {
			continue
		}
		if live, total := space(&s); total > live+2*chunkSize {
			t.Fatalf("after %d rewrites the store holds %d bytes for %d live", id+1, total, live)
		}
	}
	checkDead(t, &s)
	for id := range int64(n) {
		if r := s.recordOf(id); len(r) != 200+int(id%2) || r[0] != byte(id+1) {
			t.Fatalf("record %d lost", id)
		}
	}
}

// filledStore returns a lazy store of n records of 200 bytes, id 0 to n-1, each starting with
// byte(id), and a record's bytes to rewrite them with.
func filledStore(n int64) (logStore, []byte) {
	s := newLogStore()
	s.lazy = true
	rec := make([]byte, 200)
	for id := range n {
		rec[0] = byte(id)
		s.putRecord(id, rec)
	}
	return s, rec
}

// space is how many bytes of a store's chunks are live, and how many it holds in all (a sealed
// chunk's live bytes as written, its held ones compressed; a chunk written to, its block whole,
// of which only the pages written take memory: an upper bound).
func space(s *logStore) (live, total int) {
	s.each(func(_ int64, p uint32) bool {
		live += s.size(p)
		return true
	})
	for _, c := range s.chunks {
		total += cap(c.b)
		if c.sealed != nil {
			total += c.sealed.bytes()
		}
	}
	return live, total
}

// sealedBytes is how many bytes of records a store's sealed chunks hold as written, and how many
// they take.
func sealedBytes(s *logStore) (raw, held int) {
	for _, c := range s.chunks {
		if c.sealed != nil {
			raw += c.sealed.n
			held += c.sealed.bytes()
		}
	}
	return raw, held
}

// TestSealingCompresses: a sealing store's full chunks take less than their records (which
// here repeat, as the label codes and flags of real leads do), and read back as written, through
// the frames' bounds and a record longer than a frame.
func TestSealingCompresses(t *testing.T) {
	s := newTaggedLogStore()
	rec := make([]byte, 200)
	for id := range int64(20000) {
		binary.LittleEndian.PutUint64(rec, uint64(id))
		if id == 7000 {
			s.putTagged(id, make([]byte, 3*frameSize), uint32(id))
			continue
		}
		s.putTagged(id, rec, uint32(id))
	}
	raw, held := sealedBytes(&s)
	if raw < 2*chunkSize || held > raw/4 {
		t.Fatalf("sealed chunks hold %d bytes for %d as written", held, raw)
	}
	checkDead(t, &s)
	for id := range int64(20000) {
		b := s.recordOf(id)
		if id == 7000 && len(b) != 3*frameSize || id != 7000 && (len(b) != 200 || binary.LittleEndian.Uint64(b) != uint64(id)) {
			t.Fatalf("record %d reads back as %d bytes, %x...", id, len(b), b[:8])
		}
		if p, tag := s.lookupTag(id); p == deleted || tag != uint32(id) {
			t.Fatalf("tag of %d: %d", id, tag)
		}
	}
}

// TestSealedReadsFromManyGoroutines: a store whose full chunks are sealed gives back every
// entity's facts from tallies on several cores at once (Get through its pool of frame caches),
// and from a full recount's workers, each reading through its own cache; the sealed chunks hold
// less than the records as written. Run under -race, it also catches a cache shared between them.
func TestSealedReadsFromManyGoroutines(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	s := newFactStore(storeNow)
	want := map[int64]*facts{}
	for id := int64(1); id <= 30000; id++ {
		f := randomFacts(r, id)
		s.Put(id, f)
		want[id] = f
	}
	if raw, _ := sealedBytes(&s.logStore); raw == 0 {
		t.Fatal("no chunk was sealed")
	}
	size := s.settleIndex()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(1)
		go func() { // a tally's share: Get in no order
			defer wg.Done()
			for id := int64(1 + w); id <= 30000; id += 4 {
				if got, ok := s.Get(id); !ok || !reflect.DeepEqual(got, want[id]) {
					errs <- fmt.Errorf("Get(%d) = %+v, want %+v", id, got, want[id])
					return
				}
			}
		}()
		wg.Add(1)
		go func() { // a recount worker's share: in index order, through its own cache
			defer wg.Done()
			var fc frameCache
			s.eachAt(w*size/4, (w+1)*size/4, func(i int, id int64, p uint32) {
				if got := s.at(id, p, s.reachAt(i), &fc, nil); !reflect.DeepEqual(got, want[id]) {
					errs <- fmt.Errorf("at(%d) = %+v, want %+v", id, got, want[id])
				}
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
