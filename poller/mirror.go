package poller

import (
	"context"
	"time"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// table is one query's rows as the poller last knew them, keyed by id, so a poll can read only
// the rows that changed since the previous one and still tally every row.
type table[K comparable, V comparable] struct {
	rows        rowStore[K, V]
	watermark   time.Time      // newest updated_at seen
	incremental bool           // the query returns updated_at
	skipped     map[string]int // rows the decoder rejected, by check: a count of bad
	// bad holds each rejected row by identity (source.Result.Bad; duplicates as dupKey): the last
	// full read's, updated by the deltas since, so a row read again is not counted again.
	bad     map[any]string
	key     func(V) K
	updated func(V) time.Time
	// byLead is set when the rows are kept grouped by the lead they belong to, so the live tally
	// can recompute one lead from its rows.
	byLead *groupedStore[K, V]
}

func newTable[K comparable, V comparable](key func(V) K, updated func(V) time.Time) *table[K, V] {
	return &table[K, V]{rows: flatStore[K, V]{}, skipped: map[string]int{}, bad: map[any]string{}, key: key, updated: updated}
}

// grouped makes the table keep its rows grouped by lead.
func (t *table[K, V]) grouped(group func(V) int64) *table[K, V] {
	t.byLead = &groupedStore[K, V]{loc: map[K]int64{}, by: map[int64][]V{}, key: t.key, group: group}
	t.rows = t.byLead
	return t
}

// each calls fn for every row.
func (t *table[K, V]) each(fn func(V)) { t.rows.each(func(_ K, v V) { fn(v) }) }

// eachOf calls fn for every row of a lead (grouped tables).
func (t *table[K, V]) eachOf(lead int64, fn func(V)) {
	for _, v := range t.byLead.by[lead] {
		fn(v)
	}
}

// rowStore is how a table keeps its rows.
type rowStore[K comparable, V comparable] interface {
	get(K) (V, bool)
	put(K, V)
	each(func(K, V))
	replace(map[K]V) rowStore[K, V] // with a full read's rows
	len() int
}

// flatStore keeps rows by key.
type flatStore[K comparable, V comparable] map[K]V

func (s flatStore[K, V]) get(k K) (V, bool) { v, ok := s[k]; return v, ok }
func (s flatStore[K, V]) put(k K, v V)      { s[k] = v }
func (s flatStore[K, V]) len() int          { return len(s) }
func (s flatStore[K, V]) each(fn func(K, V)) {
	for k, v := range s {
		fn(k, v)
	}
}
func (s flatStore[K, V]) replace(rows map[K]V) rowStore[K, V] { return flatStore[K, V](rows) }

// groupedStore keeps rows in one slice per lead, and where each key is, so that a lead's rows
// (five activities, a deal) are read together without a map lookup per row.
type groupedStore[K comparable, V comparable] struct {
	loc   map[K]int64 // key → lead
	by    map[int64][]V
	key   func(V) K
	group func(V) int64
}

func (s *groupedStore[K, V]) len() int { return len(s.loc) }

func (s *groupedStore[K, V]) get(k K) (V, bool) {
	if g, ok := s.loc[k]; ok {
		for _, v := range s.by[g] {
			if s.key(v) == k {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}

func (s *groupedStore[K, V]) put(k K, v V) {
	g := s.group(v)
	if g0, ok := s.loc[k]; ok {
		vs := s.by[g0]
		for i := range vs {
			if s.key(vs[i]) != k {
				continue
			}
			if g0 == g {
				vs[i] = v
				return
			}
			vs[i] = vs[len(vs)-1]
			vs = vs[:len(vs)-1]
			break
		}
		if len(vs) == 0 {
			delete(s.by, g0)
		} else {
			s.by[g0] = vs
		}
	}
	s.loc[k] = g
	s.by[g] = append(s.by[g], v)
}

func (s *groupedStore[K, V]) each(fn func(K, V)) {
	for _, vs := range s.by {
		for _, v := range vs {
			fn(s.key(v), v)
		}
	}
}

// replace lays the rows out in one array, each lead's rows side by side (capacity capped, so an
// append to one lead never writes over the next).
func (s *groupedStore[K, V]) replace(rows map[K]V) rowStore[K, V] {
	count := map[int64]int{}
	for _, v := range rows {
		count[s.group(v)]++
	}
	all := make([]V, len(rows))
	s.by = make(map[int64][]V, len(count))
	s.loc = make(map[K]int64, len(rows))
	off := 0
	for g, n := range count {
		s.by[g] = all[off : off : off+n]
		off += n
	}
	for k, v := range rows {
		g := s.group(v)
		s.by[g] = append(s.by[g], v)
		s.loc[k] = g
	}
	return s
}

// pending is a read not yet applied to its table.
type pending[K comparable, V comparable] struct {
	t     *table[K, V]
	batch map[K]V
	full  bool
	apply func() drift
}

// changes calls fn for every row the read changes: added (old nil), changed, or, on a full
// read, gone (new nil). Rows read again unchanged (the watermark overlap) are not changes.
func (p *pending[K, V]) changes(fn func(old, new *V)) {
	for k, v := range p.batch {
		if old, ok := p.t.rows.get(k); !ok {
			fn(nil, &v)
		} else if old != v {
			fn(&old, &v)
		}
	}
	if p.full {
		p.t.rows.each(func(k K, old V) {
			if _, ok := p.batch[k]; !ok {
				fn(&old, nil)
			}
		})
	}
}

// progressEvery is how often a full read logs its progress (a cold start on a large CRM takes a
// while; the operator should see it move).
const progressEvery = 250000

// drift is what a full read found that the incremental reads had missed.
type drift struct{ deleted, changed int }

// read runs the query (in full, or only the rows changed after since) and returns the result
// pending: nothing changes until its apply is called, so a poll that fails half-way leaves the
// table as it was.
func (t *table[K, V]) read(ctx context.Context, readFn func(context.Context, string, func(V), ...any) (source.Result, error),
	text string, full bool, since, now time.Time, progress func(rows int)) (source.Result, *pending[K, V], error) {
	batch := map[K]V{}
	dups := map[any]string{}
	var args []any
	if !full {
		args = []any{since}
	}
	res, err := readFn(ctx, text, func(v V) {
		if progress != nil && (len(batch)+1)%progressEvery == 0 {
			progress(len(batch) + 1)
		}
		k := t.key(v)
		if _, dup := batch[k]; dup {
			dups[dupKey[K]{k}] = tally.CheckDuplicateID
			return
		}
		batch[k] = v
	}, args...)
	if err != nil {
		return res, nil, err
	}
	p := &pending[K, V]{t: t, batch: batch, full: full}
	p.apply = func() drift {
		var d drift
		newest := t.watermark
		for _, v := range batch {
			// A row dated in the future (clock skew, bad data) must not carry the watermark past
			// now, or every later change would stay invisible until the next full read; such a
			// row is read again until its time has come.
			if u := t.updated(v); u.After(newest) && !u.After(now) {
				newest = u
			}
		}
		if full {
			t.rows.each(func(k K, old V) {
				now, ok := batch[k]
				switch {
				case !ok:
					d.deleted++
				case now != old && !t.updated(now).After(t.watermark):
					d.changed++ // changed without a newer updated_at: the incremental reads could not see it
				}
			})
			t.rows = t.rows.replace(batch)
			t.bad = map[any]string{}
		} else {
			for k, v := range batch {
				t.rows.put(k, v)
				delete(t.bad, any(k)) // read again, and good now
			}
		}
		for id, check := range res.Bad {
			t.bad[id] = check
		}
		for id, check := range dups {
			t.bad[id] = check
		}
		t.skipped = map[string]int{}
		for _, check := range t.bad {
			t.skipped[check]++
		}
		t.watermark = newest
		// The batch is the table now (flat) or copied into it (grouped): let it go before the
		// tally runs, not when the poll ends; on a cold start it is hundreds of megabytes.
		batch, p.batch = nil, nil
		return d
	}
	return res, p, nil
}

type ctxQ = context.Context

// dupKey identifies a duplicated id among a table's rejected rows.
type dupKey[K comparable] struct{ id K }
