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
}

func newTable[K comparable, V comparable](key func(V) K, updated func(V) time.Time) *table[K, V] {
	return &table[K, V]{rows: map[K]V{}, skipped: map[string]int{}, key: key, updated: updated}
}

// progressEvery is how often a full read logs its progress (a cold start on a large CRM takes a
// while; the operator should see it move).
const progressEvery = 250000

// drift is what a full read found that the incremental reads had missed.
type drift struct{ deleted, changed int }

// read runs the query (in full, or only the rows changed after since) and returns a function
// that applies the result to the table; nothing changes until it is called, so a poll that fails
// half-way leaves the table as it was.
func (t *table[K, V]) read(ctx context.Context, readFn func(context.Context, string, func(V), ...any) (source.Result, error),
	text string, full bool, since, now time.Time, progress func(rows int)) (source.Result, func() drift, error) {
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
	return res, func() drift {
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
		} else {
			for k, v := range batch {
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
	}, nil
}

type ctxQ = context.Context
