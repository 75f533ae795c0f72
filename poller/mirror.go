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
	rows        map[K]V
	watermark   time.Time      // newest updated_at seen
	incremental bool           // the query returns updated_at
	skipped     map[string]int // rows the decoder rejected: the last full read, plus deltas since
	key         func(V) K
	updated     func(V) time.Time
	// group, when set, indexes the rows by the lead they belong to (by), so the live tally can
	// recompute one lead from its rows.
	group func(V) int64
	by    map[int64][]K
}

func newTable[K comparable, V comparable](key func(V) K, updated func(V) time.Time) *table[K, V] {
	return &table[K, V]{rows: map[K]V{}, skipped: map[string]int{}, key: key, updated: updated}
}

// grouped makes the table index its rows by lead.
func (t *table[K, V]) grouped(group func(V) int64) *table[K, V] {
	t.group, t.by = group, map[int64][]K{}
	return t
}

// each calls fn for every row.
func (t *table[K, V]) each(fn func(V)) {
	for _, v := range t.rows {
		fn(v)
	}
}

// eachOf calls fn for every row of a lead (grouped tables).
func (t *table[K, V]) eachOf(lead int64, fn func(V)) {
	for _, k := range t.by[lead] {
		fn(t.rows[k])
	}
}

func (t *table[K, V]) index(k K, v V) { g := t.group(v); t.by[g] = append(t.by[g], k) }

func (t *table[K, V]) unindex(k K, v V) {
	g := t.group(v)
	ks := t.by[g]
	for i := range ks {
		if ks[i] == k {
			ks[i] = ks[len(ks)-1]
			ks = ks[:len(ks)-1]
			break
		}
	}
	if len(ks) == 0 {
		delete(t.by, g)
	} else {
		t.by[g] = ks
	}
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
		if old, ok := p.t.rows[k]; !ok {
			fn(nil, &v)
		} else if old != v {
			fn(&old, &v)
		}
	}
	if p.full {
		for k, old := range p.t.rows {
			if _, ok := p.batch[k]; !ok {
				fn(&old, nil)
			}
		}
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
	dups := 0
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
			dups++
			return
		}
		batch[k] = v
	}, args...)
	if err != nil {
		return res, nil, err
	}
	return res, &pending[K, V]{t: t, batch: batch, full: full, apply: func() drift {
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
			for k, old := range t.rows {
				now, ok := batch[k]
				switch {
				case !ok:
					d.deleted++
				case now != old && !t.updated(now).After(t.watermark):
					d.changed++ // changed without a newer updated_at: the incremental reads could not see it
				}
			}
			t.rows = batch
			t.skipped = map[string]int{}
			if t.group != nil {
				t.by = make(map[int64][]K, len(t.by))
				for k, v := range batch {
					t.index(k, v)
				}
			}
		} else {
			for k, v := range batch {
				if t.group != nil {
					old, had := t.rows[k]
					switch {
					case !had:
						t.index(k, v)
					case t.group(old) != t.group(v):
						t.unindex(k, old)
						t.index(k, v)
					}
				}
				t.rows[k] = v
			}
		}
		for check, n := range res.Skipped {
			t.skipped[check] += n
		}
		if dups > 0 {
			t.skipped[tally.CheckDuplicateID] += dups
		}
		t.watermark = newest
		return d
	}}, nil
}

type ctxQ = context.Context
