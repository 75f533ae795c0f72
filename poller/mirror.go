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
	// lead is set when the rows are kept grouped by the lead they belong to, so the live tally
	// can recompute one lead from its rows.
	lead func(V) int64
	// overlap is how many rows the last delta read found as the table holds them: the rows of
	// the watermark overlap, read again at every poll (the size of the next delta's set of them).
	overlap int
}

func newTable[K comparable, V comparable](key func(V) K, updated func(V) time.Time) *table[K, V] {
	return &table[K, V]{rows: mapStore[K, V]{}, skipped: map[string]int{}, bad: map[any]string{}, key: key, updated: updated}
}

// packed makes a big table keep its rows packed and sorted by key (see sortedStore).
func packed[V comparable, C comparable](t *table[int64, V], c codec[int64, V, C]) *table[int64, V] {
	t.rows = newSortedStore(c, nil, false, 0)
	return t
}

// packedGroups makes a big table keep its rows packed and grouped by lead (see sortedStore).
func packedGroups[V comparable, C comparable](t *table[int64, V], c codec[int64, V, C], lead func(V) int64) *table[int64, V] {
	t.rows, t.lead = newSortedStore(c, lead, false, 0), lead
	return t
}

// each calls fn for every row.
func (t *table[K, V]) each(fn func(V)) { t.rows.each(func(_ K, v V) { fn(v) }) }

// eachOf calls fn for every row of a lead (grouped tables).
func (t *table[K, V]) eachOf(lead int64, fn func(V)) {
	t.rows.(interface{ eachOf(int64, func(V)) }).eachOf(lead, fn)
}

// eachIn calls fn for every row whose lead is in [lo, hi) (packed tables: leads by id, grouped
// tables by lead).
func (t *table[K, V]) eachIn(lo, hi int64, fn func(V)) {
	t.rows.(interface{ eachIn(int64, int64, func(V)) }).eachIn(lo, hi, fn)
}

// rowStore is how a table keeps its rows: mapStore for the small tables, sortedStore for the
// big ones.
type rowStore[K comparable, V comparable] interface {
	get(K) (V, bool)
	has(K) bool
	put(K, V)
	each(func(K, V))
	len() int
	// fresh is an empty store of the same kind for a read's rows: a full read's (hint: how many
	// it will likely hold) becomes the table, a delta's is put into it.
	fresh(full bool, hint int) rowStore[K, V]
	// seal ends the read that filled a fresh store, and returns the keys it dropped as read
	// more than once (a store may find them only then).
	seal() []K
	// diff calls fn for each key in this store or newer, with both versions (nil where absent).
	diff(newer rowStore[K, V], fn func(k K, old, new *V))
}

// pending is a read not yet applied to its table.
type pending[K comparable, V comparable] struct {
	t     *table[K, V]
	batch rowStore[K, V]
	full  bool
	apply func() drift
	// A full read is compared with the table once, in key order: by changes when it is called,
	// else by apply; drift is what that walk found.
	diffed bool
	drift  drift
}

// compare walks a full read against the table, counting drift and calling fn (if set) for
// every row that changes.
func (p *pending[K, V]) compare(fn func(old, new *V)) {
	t := p.t
	p.drift, p.diffed = drift{}, true
	t.rows.diff(p.batch, func(_ K, old, now *V) {
		switch {
		case old == nil:
		case now == nil:
			p.drift.deleted++
		case *now != *old && !t.updated(*now).After(t.watermark):
			p.drift.changed++ // changed without a newer updated_at: the incremental reads could not see it
		}
		if fn != nil && (old == nil || now == nil || *old != *now) {
			fn(old, now)
		}
	})
}

// changes calls fn for every row the read changes: added (old nil), changed, or, on a full
// read, gone (new nil). Rows read again unchanged (the watermark overlap) are not changes.
func (p *pending[K, V]) changes(fn func(old, new *V)) {
	if p.full {
		p.compare(fn)
		return
	}
	p.batch.each(func(k K, v V) {
		if old, ok := p.t.rows.get(k); !ok {
			fn(nil, &v)
		} else if old != v {
			fn(&old, &v)
		}
	})
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
	hint := 0
	if full {
		hint = t.rows.len()
	}
	batch := t.rows.fresh(full, hint)
	dups := map[any]string{}
	var args []any
	// A delta read leaves out of its batch the rows it reads as the table holds them: the rows
	// of the watermark overlap, read again at every poll. A table written in batches (daily
	// campaign stats, loaded at one updated_at) has all of its last batch in the overlap until
	// a newer row comes, for hours: each poll put its thousands of rows into a new map, copied
	// them into the table and compared them with it again. Only their keys are kept, to find a
	// row read twice, and the newest updated_at among them up to now, which moves the watermark
	// as if they were applied.
	var same map[K]struct{}
	var sameNewest time.Time
	if !full {
		args = []any{since}
		same = make(map[K]struct{}, t.overlap)
	}
	res, err := readFn(ctx, text, func(v V) {
		if progress != nil && (batch.len()+1)%progressEvery == 0 {
			progress(batch.len() + 1)
		}
		k := t.key(v)
		if _, dup := same[k]; dup || batch.has(k) {
			dups[dupKey[K]{k}] = tally.CheckDuplicateID
			return
		}
		if same != nil {
			if old, ok := t.rows.get(k); ok && old == v {
				same[k] = struct{}{}
				if u := t.updated(v); u.After(sameNewest) && !u.After(now) { // apply's rule, below
					sameNewest = u
				}
				return
			}
		}
		batch.put(k, v)
	}, args...)
	if err != nil {
		return res, nil, err
	}
	for _, k := range batch.seal() {
		dups[dupKey[K]{k}] = tally.CheckDuplicateID
	}
	p := &pending[K, V]{t: t, batch: batch, full: full}
	p.apply = func() drift {
		newest := t.watermark
		// A row dated in the future (clock skew, bad data) must not carry the watermark past
		// now, or every later change would stay invisible until the next full read; such a
		// row is read again until its time has come.
		later := func(u time.Time) {
			if u.After(newest) && !u.After(now) {
				newest = u
			}
		}
		batch.each(func(_ K, v V) { later(t.updated(v)) })
		later(sameNewest)
		var d drift
		if full {
			if !p.diffed {
				p.compare(nil)
			}
			d = p.drift
			t.rows = batch
			t.bad = map[any]string{}
		} else {
			batch.each(func(k K, v V) {
				t.rows.put(k, v)
				delete(t.bad, any(k)) // read again, and good now
			})
			if len(t.bad) > 0 {
				for k := range same {
					delete(t.bad, any(k))
				}
			}
			t.overlap = len(same)
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
		// The batch is the table now (full) or copied into it (delta): let it go before the
		// tally runs, not when the poll ends.
		batch, p.batch = nil, nil
		return d
	}
	return res, p, nil
}

type ctxQ = context.Context

// dupKey identifies a duplicated id among a table's rejected rows.
type dupKey[K comparable] struct{ id K }
