package poller

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// The live CRM poll keeps none of the CRM's rows: the live tally keeps what it made of each
// lead (tally's facts), and a poll reads only what it needs.
//
//   - The changes: each query that returns updated_at is read from its watermark (less
//     watermark_overlap), and the leads of the rows it returns are the poll's dirty leads. Rows
//     read again unchanged in the overlap are known by their digest and left out.
//   - The planned leads' rows (tally.LiveCRM.Plan: the dirty ones, those whose numbers move
//     with the clock, those with a timestamp in a period that just began): every row of each
//     of them, through the indexed lead_id (= ANY($1), in batches).
//   - Every row, on the first poll and after a change every lead depends on: by ranges of lead
//     ids, on as many connections as max_open_connections allows, sharing the poll's snapshot
//     (pg_export_snapshot), each range tallied as it arrives (crmRanges).
//   - The reconciliation (every reconcile_interval, and every poll for a query without
//     updated_at): the database sums the rows' digests per range of leads, the poll compares
//     them with the tally's, and only the leads of a range that differs are compared one by
//     one; those that differ are read again, and counted as drift.

// crmTable is what the poll keeps of one of the lead-keyed CRM queries: no rows, only where the
// last read stopped and what it could not read.
type crmTable struct {
	name   string
	column string // the lead a row belongs to: id for leads, lead_id for the others
	// nulls: a NULL lead_id is a row of no lead (entity 0), which every read of entity 0 takes.
	nulls       bool
	watermark   time.Time
	incremental bool
	// recent holds the digest of each row read whose updated_at falls in the watermark's
	// overlap, by id: when the next poll reads it again unchanged, its lead is not dirty.
	recent map[int64]int64
	// bad holds each skipped row (source.Result.Bad) with its lead when known: reading a lead
	// again replaces its bad rows, reading every row all of them.
	bad map[any]badRow
}

type badRow struct {
	check string
	lead  int64
	known bool
}

func newCRMTable(name, column string, nulls bool) *crmTable {
	return &crmTable{name: name, column: column, nulls: nulls, recent: map[int64]int64{}, bad: map[any]badRow{}}
}

// skipped counts the table's skipped rows by check.
func (t *crmTable) skipped() map[string]int {
	out := map[string]int{}
	for _, b := range t.bad {
		out[b.check]++
	}
	return out
}

// addBad records a read's skipped rows.
func addBad(into map[any]badRow, res source.Result) {
	for k, check := range res.Bad {
		lead, known := res.BadLead[k]
		into[k] = badRow{check: check, lead: lead, known: known}
	}
}

// keepLeadBad makes the skipped rows of the leads read again those their read found.
func (t *crmTable) keepLeadBad(leads map[int64]bool, read map[any]badRow) {
	for k, b := range t.bad {
		if b.known && leads[b.lead] {
			delete(t.bad, k)
		}
	}
	maps.Copy(t.bad, read)
}

// keepUnattached makes the skipped rows of no known lead those a reconciliation found.
func (t *crmTable) keepUnattached(found map[any]badRow) {
	for k, b := range t.bad {
		if !b.known {
			delete(t.bad, k)
		}
	}
	maps.Copy(t.bad, found)
}

// fullRead is what a read of every row of a table leaves: the newest updated_at (up to now), the
// skipped rows, whether a lead id was text.
type fullRead struct {
	watermark time.Time
	bad       map[any]badRow
	textIDs   bool
	// recent: the rows within the watermark_overlap of their read's newest updated_at
	// (recentRows), whose digests keepFull keeps (crmTable.recent), so that the next poll does
	// not take them, read again unchanged in its overlap, for changes: after a cold start, every
	// lead updated in the last minutes was recomputed by the first poll.
	recent []recentRow
}

type recentRow struct {
	id, digest int64
	updated    time.Time
}

// recentRows follows one read's rows: the newest updated_at so far (up to now: a row dated in
// the future, from clock skew or bad data, must not carry a watermark past now, or every later
// change would stay invisible until the reconciliation; such a row is read again until its time
// has come), and the rows updated in the overlap before it. The table's watermark, the newest of
// every read, is at least that newest, so a row left out (older than newest less the overlap)
// is older than the watermark less the overlap, and no poll reads it again. Pruned as the
// newest moves, it holds a few minutes' rows.
type recentRows struct {
	overlap time.Duration
	now     time.Time
	newest  time.Time // the newest updated_at up to now; where it starts for a delta: the watermark
	rows    []recentRow
	pruned  int // len(rows) at the last prune
	// floor is newest less the overlap, if floorSet: add is called for every row of a full
	// read (some nine million at a million leads), and newest seldom moves once it is near the
	// end of the rows' updated_at.
	floor    time.Time
	floorSet bool
}

// add notes a row read.
func (r *recentRows) add(k source.RowKey) {
	id, digest, updated := k.ID, k.Digest, k.Updated
	if r.floorSet && updated.Before(r.floor) {
		return // most rows of a full read: older than the floor, so not newer than newest either
	}
	if updated.After(r.newest) && !updated.After(r.now) {
		r.newest, r.floorSet = updated, false
	}
	if !r.floorSet {
		r.floor, r.floorSet = r.newest.Add(-r.overlap), true
	}
	if updated.IsZero() || updated.Before(r.floor) {
		return // no updated_at (a query read whole every poll), or too old
	}
	r.rows = append(r.rows, recentRow{id, digest, updated})
	if len(r.rows) > 2*r.pruned+1024 {
		r.prune(r.newest)
	}
}

// digests leaves out the rows older than newest less the overlap and gives the others' digests
// by id: what crmTable.recent keeps, a full read's or a delta's.
func (r *recentRows) digests(newest time.Time) map[int64]int64 {
	out := make(map[int64]int64, len(r.rows))
	for _, x := range r.prune(newest) {
		out[x.id] = x.digest
	}
	return out
}

// prune leaves out the rows older than newest less the overlap.
func (r *recentRows) prune(newest time.Time) []recentRow {
	floor := newest.Add(-r.overlap)
	r.rows = slices.DeleteFunc(r.rows, func(x recentRow) bool { return x.updated.Before(floor) })
	r.pruned = len(r.rows)
	return r.rows
}

// add adds one read (of a range), followed by recent, and its result.
func (f *fullRead) add(recent *recentRows, res source.Result) {
	if recent.newest.After(f.watermark) {
		f.watermark = recent.newest
	}
	f.recent = append(f.recent, recent.prune(recent.newest)...)
	if f.bad == nil {
		f.bad = map[any]badRow{}
	}
	addBad(f.bad, res)
	f.textIDs = f.textIDs || res.TextIDs
}

// keepFull makes a full read the table's: where the next poll's changes start, its skipped rows.
// overlap is watermark_overlap.
func (t *crmTable) keepFull(f *fullRead, overlap time.Duration) {
	t.watermark, t.bad = f.watermark, f.bad
	if t.bad == nil {
		t.bad = map[any]badRow{}
	}
	all := recentRows{overlap: overlap, rows: f.recent}
	t.recent = all.digests(f.watermark)
}

// probe learns whether t's query returns updated_at (a LIMIT 0 read): on the first poll and at
// every reconciliation.
func (r *crmReader) probe(ctx context.Context, tx *readTx, t *crmTable) error {
	_, err := r.timed(ctx, t.name, func(ctx context.Context) (source.Result, error) {
		incr, err := source.Returns(ctx, tx, source.Wrap(r.query(t.name), "tandem_q"), source.Watermark)
		t.incremental = incr
		return source.Result{}, err
	})
	return err
}

// crmState is the live CRM poll's bookkeeping between polls.
type crmState struct {
	owners *table[int64, source.Owner]
	tables []*crmTable // leads, activities, opportunities: the order a lead's rows are fed in
	// textIDs is set once a lead id read was text (Salesforce's): text ids cannot be read by
	// range or compared by range of digests, so every poll reads every row.
	textIDs bool
}

func newCRMState() *crmState {
	return &crmState{
		owners: newTable(func(o source.Owner) int64 { return o.ID }, func(source.Owner) time.Time { return time.Time{} }),
		tables: []*crmTable{
			newCRMTable(source.QueryLeads, "id", false),
			newCRMTable(source.QueryActivities, "lead_id", false),
			newCRMTable(source.QueryOpportunities, "lead_id", true),
		},
	}
}

// crmReader runs a poll's reads of the lead-keyed queries (the CRM's, and the touchpoints).
type crmReader struct {
	p     *Poller
	db    source.Database
	d     *config.DB
	stats *pollStats
}

// pollStats adds up a poll's queries, which several connections may run at once.
type pollStats struct {
	mu sync.Mutex
	m  map[string]queryStats
}

func (s *pollStats) add(name string, rows int, d time.Duration, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[name]
	st.rows += rows
	st.duration += d
	st.err = st.err || failed
	s.m[name] = st
}

// query is the configured SQL of a query.
func (r *crmReader) query(name string) string {
	q, _ := source.LookupQuery(r.db, name)
	return r.d.Query(q)
}

// text is a query's SQL as the poll reads its rows: digested by PostgreSQL unless the poll
// digests them itself as it reads them (runRows): its own hash_record where chooseDigests found
// it equal to the server's, and on SQLite.
func (r *crmReader) text(name string) string {
	if r.d.Driver == "postgres" && !r.p.ownDigest(name) {
		return source.Digested(r.query(name), r.p.digestOf(name))
	}
	return source.Wrap(r.query(name), "tandem_q")
}

// digestChoice is how a query's rows are digested (chooseDigests): expr is PostgreSQL's
// expression for a row's digest (source.RecordDigest or TextDigest), which the reconciliation's
// sums use; own is set when the poll computes the same digests itself as it reads the rows,
// once sampled (chooseOwn).
type digestChoice struct {
	expr         string
	own, sampled bool
}

// digestChoiceOf is the choice made for a query so far (none: expr empty).
func (p *Poller) digestChoiceOf(name string) digestChoice {
	p.digestMu.Lock()
	defer p.digestMu.Unlock()
	return p.digests[name]
}

// setDigestChoice changes the choice for a query.
func (p *Poller) setDigestChoice(name string, change func(*digestChoice)) {
	p.digestMu.Lock()
	defer p.digestMu.Unlock()
	c := p.digests[name]
	change(&c)
	p.digests[name] = c
}

// ownDigest reports whether the poll computes the digests of a query's rows itself, from their
// wire values (chooseDigests).
func (p *Poller) ownDigest(name string) bool { return p.digestChoiceOf(name).own }

// digestOf is the digest expression chosen for a query (chooseDigests).
func (p *Poller) digestOf(name string) string {
	if d := p.digestChoiceOf(name).expr; d != "" {
		return d
	}
	return source.TextDigest
}

// chooseDigests picks, once per query, how PostgreSQL digests its rows: by their values
// (source.RecordDigest, the cheap one) unless a column's type cannot be hashed so (probeDigest,
// in the poll's transaction tx). With RecordDigest, the poll then digests the rows itself as it
// reads them (pgxRows.RowDigest) if its digests equal the server's on a sample of the rows
// (readTx.ownDigests): the server then hashes only for the reconciliation's sums. At a million
// leads, hash_record was 0.76 s of the server's 1.86 s to send the five million activities.
func (r *crmReader) chooseDigests(ctx context.Context, tx *readTx, names ...string) error {
	if r.d.Driver != "postgres" {
		return nil
	}
	for _, name := range names {
		if !r.d.Enabled(name) {
			continue
		}
		choice := r.p.digestChoiceOf(name)
		digest := choice.expr
		if digest == "" {
			digest = source.RecordDigest
			qctx, cancel := context.WithTimeout(ctx, r.d.QueryTimeout)
			err := probeDigest(qctx, tx, source.DigestProbe(r.query(name)))
			cancel()
			var pgErr *pgconn.PgError
			switch {
			case errors.As(err, &pgErr) && pgErr.Code == "42883": // undefined_function: no hash function for a column's type
				digest = source.TextDigest
				r.p.logger.Info("rows digested by their text form: a column's type has no hash function", "query", name, "why", pgErr.Message)
			case err != nil:
				return fmt.Errorf("query %s: %w", name, err)
			}
			r.p.setDigestChoice(name, func(c *digestChoice) { c.expr = digest })
		}
		if digest == source.RecordDigest && !choice.sampled {
			if err := r.chooseOwn(ctx, tx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// chooseOwn decides whether the poll digests a query's rows itself (readTx.ownDigests). A query
// with no row yet stays undecided, its rows digested by the server, and is sampled again at the
// next poll; so is one whose own digests failed on a read (forgetOwn).
func (r *crmReader) chooseOwn(ctx context.Context, tx *readTx, name string) error {
	qctx, cancel := context.WithTimeout(ctx, r.d.QueryTimeout)
	ok, sampled, why, err := tx.ownDigests(qctx, r.query(name))
	cancel()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil: // the sample failed (a query too slow for it, say): the server digests
		why = "the sample failed: " + err.Error()
	}
	if sampled == 0 && why == "" {
		return nil
	}
	if !ok {
		r.p.logger.Info("rows digested by the server: the poll's own digests would differ", "query", name, "why", why)
	}
	r.p.setDigestChoice(name, func(c *digestChoice) { c.own, c.sampled = ok, true })
	return nil
}

// forgetOwn undoes the choice of the poll's own digests for a query whose read could not digest
// a row (source.ErrRowDigest: its columns changed type since the sample): the next poll samples
// it again.
func (p *Poller) forgetOwn(name string) {
	p.setDigestChoice(name, func(c *digestChoice) { c.own, c.sampled = false, false })
}

// probeDigest runs a digest probe in the poll's transaction, behind a savepoint: a probe that
// fails (a column without a hash function) must not abort the transaction, and running it on
// another connection of the pool, as it once did, waited forever with max_open_connections: 1
// (the transaction holds the only one).
func probeDigest(ctx context.Context, tx *readTx, probe string) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT tandem_digest_probe"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, probe)
	undo := []string{"RELEASE SAVEPOINT tandem_digest_probe"}
	if err != nil {
		// Rolled back to, a savepoint stays open: released too, or the transaction would stay a
		// subtransaction, which cannot export its snapshot to the parallel reads.
		undo = append([]string{"ROLLBACK TO SAVEPOINT tandem_digest_probe"}, undo...)
	}
	for _, q := range undo {
		if _, uerr := tx.ExecContext(ctx, q); uerr != nil {
			return errors.Join(err, uerr)
		}
	}
	return err
}

// run runs one read of a lead-keyed CRM query under query_timeout and adds it to the poll's
// stats; rows counts its rows into tandem_query_rows_total (not a read of ids or digests). Its
// rows come boxed (any): the hot full reads, which know their row type, use runRows instead.
func (r *crmReader) run(ctx context.Context, q source.Querier, name, text string, args []any, fn func(any)) (source.Result, error) {
	switch name {
	case source.QueryLeads:
		return runRows(r, ctx, q, name, text, args, source.ReadLeads, func(x source.Lead) { fn(x) })
	case source.QueryActivities:
		return runRows(r, ctx, q, name, text, args, source.ReadActivities, func(x source.Activity) { fn(x) })
	case source.QueryOpportunities:
		return runRows(r, ctx, q, name, text, args, source.ReadOpportunities, func(x source.Opportunity) { fn(x) })
	case source.QueryTouchpoints:
		return runRows(r, ctx, q, name, text, args, source.ReadTouchpoints, func(x source.Touchpoint) { fn(x) })
	}
	panic("poller: not a lead-keyed query: " + name)
}

// rowReader is how the source package reads the rows of one kind (source.ReadLeads...).
type rowReader[T any] func(ctx context.Context, db source.Querier, text string, fn func(T), args ...any) (source.Result, error)

// runRows is run for rows of a type known where it is called: each row reaches fn as it is
// decoded, not boxed in an interface (at a million leads, a cold start's 8M rows were as many
// allocations).
func runRows[T any](r *crmReader, ctx context.Context, q source.Querier, name, text string, args []any, read rowReader[T], fn func(T)) (source.Result, error) {
	// A read whose text has no digest column (crmReader.text) digests its rows as it reads them.
	ctx = source.WithRowDigests(ctx)
	qctx, cancel := context.WithTimeout(ctx, r.d.QueryTimeout)
	defer cancel()
	began := time.Now()
	res, err := read(qctx, q, text, fn, args...)
	if errors.Is(err, source.ErrRowDigest) {
		r.p.forgetOwn(name)
	}
	r.stats.add(name, res.Rows, time.Since(began), err != nil)
	if err == nil && res.FirstSkip != nil {
		// The value's masked form, never the value: it may be personal data.
		r.p.logger.Warn("rows skipped", "query", name, "skipped", len(res.Bad), "first_check", res.FirstSkip.Check,
			"first_column", res.FirstSkip.Column, "first_form", res.FirstSkip.Form, "why", res.FirstSkip.Err)
	}
	return res, err
}

// runKeys is runRows for a caller that needs only each row's key.
func runKeys[T keyed](r *crmReader, ctx context.Context, q source.Querier, name, text string, args []any, read rowReader[T], fn func(source.RowKey)) (source.Result, error) {
	return runRows(r, ctx, q, name, text, args, read, func(x T) { fn(x.Key()) })
}

// timed runs a read of ids or digest sums of a query under query_timeout, counting its time
// (not its rows) in the query's stats.
func (r *crmReader) timed(ctx context.Context, name string, fn func(ctx context.Context) (source.Result, error)) (source.Result, error) {
	qctx, cancel := context.WithTimeout(ctx, r.d.QueryTimeout)
	defer cancel()
	began := time.Now()
	res, err := fn(qctx)
	r.stats.add(name, 0, time.Since(began), err != nil)
	if err != nil {
		return res, fmt.Errorf("query %s: %w", name, err)
	}
	return res, nil
}

// keyed is a lead-keyed CRM or campaign row (source.Lead, Activity, Opportunity, Touchpoint).
type keyed interface{ Key() source.RowKey }

// rowOf is what the poll needs of a decoded row that reached it boxed (crmReader.run).
func rowOf(v any) source.RowKey { return v.(keyed).Key() }

// readCRM is the live CRM poll, in the read-only transaction tx at now; full is set when the
// reconciliation is due. It returns the snapshot, and what to keep once the poll succeeded.
func (p *Poller) readCRM(ctx context.Context, tx *readTx, now time.Time, full bool, stats map[string]queryStats) (*tally.Snapshot, func(), error) {
	d := p.cfg.DB(source.CRM)
	st := p.crmState
	r := &crmReader{p: p, db: source.CRM, d: d, stats: &pollStats{m: stats}}
	if err := r.chooseDigests(ctx, tx, source.QueryLeads, source.QueryActivities, source.QueryOpportunities); err != nil {
		return nil, nil, err
	}
	var commits []func()

	// Owners, read whole every poll: a change recounts every lead.
	rebuild := !p.liveCRM.Built() || st.textIDs
	owners := map[int64]source.Owner{} // this poll's: the table keeps them once it succeeds
	if d.Enabled(source.QueryOwners) {
		began := time.Now()
		qctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
		res, pend, err := st.owners.read(qctx, func(ctx context.Context, text string, f func(source.Owner), args ...any) (source.Result, error) {
			return source.ReadOwners(ctx, tx, text, func(o source.Owner) {
				if _, dup := owners[o.ID]; !dup {
					owners[o.ID] = o
				}
				f(o)
			}, args...)
		}, source.Wrap(r.query(source.QueryOwners), "tandem_q"), true, time.Time{}, now, nil)
		cancel()
		r.stats.add(source.QueryOwners, res.Rows, time.Since(began), err != nil)
		if err != nil {
			return nil, nil, err
		}
		pend.changes(func(_, _ *source.Owner) { rebuild = true })
		commits = append(commits, func() { pend.apply() })
	}

	// Which queries return updated_at: probed on the first poll and at every reconciliation.
	var tables []*crmTable
	for _, t := range st.tables {
		if !d.Enabled(t.name) {
			continue // disabled_queries: no rows
		}
		tables = append(tables, t)
		if full || !p.liveCRM.Built() {
			if err := r.probe(ctx, tx, t); err != nil {
				return nil, nil, err
			}
		}
	}

	dirty := map[int64]bool{}
	drift := map[string][2]uint64{}
	var marks []mark
	// The leads whose own row is all the deltas found changed, with that row: the tally may
	// need neither it nor their activities and deals read again (tally.LiveCRM.Known).
	own := &ownRows{rows: map[int64][]source.Lead{}, changed: map[int64]bool{}, others: map[int64]bool{}}
	if !rebuild {
		for _, t := range tables {
			if t.incremental {
				m, err := p.crmDelta(ctx, r, tx, t, now, dirty, own)
				if err != nil {
					return nil, nil, err
				}
				marks = append(marks, m)
			}
		}
		// The reconciliation; every poll for a query without updated_at, which has no changes
		// to read.
		for _, t := range tables {
			if full || !t.incremental {
				idx := tally.DigestIndex(t.name)
				kept := newKept(func(fn func(int64, tally.DigestSum)) {
					p.liveCRM.Digests(func(id int64, d tally.Digest) { fn(id, d[idx]) })
				}, func(id int64) bool { return !dirty[id] })
				found, unattached, err := p.reconcile(ctx, r, tx, t, kept, dirty)
				if err != nil {
					return nil, nil, err
				}
				if t.incremental {
					drift[t.name] = found // without updated_at, every change is found this way
				}
				commits = append(commits, func() { t.keepUnattached(unattached) })
			}
		}
	}

	waitTouches := func() error {
		if p.feed == nil {
			return nil
		}
		select {
		case <-p.feed.Settled():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	plan := p.liveCRM.Plan(dirty, rebuild, now)
	if plan.CanBeLate() {
		// The first tally reads the CRM's rows while the campaign side's first poll runs, and
		// waits for its touches only once it needs them.
		plan.WaitTouches = waitTouches
	}
	if !full {
		// Not at a reconciliation: it compares no dirty lead's digests, so a lead whose row
		// changed would keep, carried, a deal deleted behind the watermark for another hour.
		p.liveCRM.Known(plan, own.known())
	}
	var rows tally.CRMRows
	if plan.Rebuild {
		rr, err := p.crmRanges(ctx, tx, r, tables, owners, now)
		if err != nil {
			return nil, nil, err
		}
		defer rr.close()
		rows = rr
		commits = append(commits, func() {
			for _, t := range tables {
				t.keepFull(rr.found[t.name], d.WatermarkOverlap)
			}
			st.textIDs = rr.textIDs
		})
	} else {
		lr, err := p.readLeads(ctx, r, tx, tables, owners, plan, own)
		if err != nil {
			return nil, nil, err
		}
		rows = lr
		commits = append(commits, func() {
			for _, m := range marks {
				m.keep()
			}
			for _, t := range tables {
				t.keepLeadBad(lr.read[t.name], lr.bad[t.name])
			}
			st.textIDs = st.textIDs || lr.textIDs
		})
	}
	snap, err := p.liveCRM.Apply(plan, rows)
	if err != nil {
		return nil, nil, err
	}
	commit := func() {
		for _, c := range commits {
			c()
		}
		for q, n := range drift {
			if n[0] > 0 || n[1] > 0 {
				p.logger.Warn("reconciliation found rows the incremental reads missed", "query", q, "deleted", n[0], "changed", n[1])
			}
			p.drift[q+"\xffdeleted"] += n[0]
			p.drift[q+"\xffchanged"] += n[1]
		}
		snap.AddSkipped(source.QueryOwners, st.owners.skipped)
		for _, t := range st.tables {
			snap.AddSkipped(t.name, t.skipped())
		}
	}
	return snap, commit, nil
}

// mark is where a delta read leaves a table: kept once the poll succeeds.
type mark struct {
	t         *crmTable
	watermark time.Time
	recent    map[int64]int64
	good      []int64        // rows read good, no longer bad
	bad       map[any]badRow // skipped rows of no known lead (a known one's lead is read again)
}

// keep applies the delta read to its table.
func (m mark) keep() {
	m.t.watermark, m.t.recent = m.watermark, m.recent
	if len(m.t.bad) > 0 { // most often none: no key boxed for nothing
		for _, id := range m.good {
			delete(m.t.bad, any(id))
		}
	}
	maps.Copy(m.t.bad, m.bad)
}

// crmDelta reads the rows of t changed since its watermark (less the overlap) and marks their
// leads dirty; rows read again unchanged (the overlap) are left out.
func (p *Poller) crmDelta(ctx context.Context, r *crmReader, tx *readTx, t *crmTable, now time.Time, dirty map[int64]bool, own *ownRows) (mark, error) {
	since := t.watermark.Add(-r.d.WatermarkOverlap)
	// Sized for the last delta's overlap, which most of this one's rows are again.
	m := mark{t: t, bad: map[any]badRow{}, good: make([]int64, 0, len(t.recent))}
	recent := recentRows{overlap: r.d.WatermarkOverlap, now: now, newest: t.watermark, rows: make([]recentRow, 0, len(t.recent))}
	// note notes a row read and says whether it changed. Each query's rows reach it in their
	// own type, not boxed: most of a delta's rows are the overlap's, read again unchanged.
	note := func(k source.RowKey) bool {
		old, ok := t.recent[k.ID]
		changed := !ok || old != k.Digest
		if changed {
			dirty[k.Lead] = true
		}
		recent.add(k)
		m.good = append(m.good, k.ID)
		return changed
	}
	text, args := tx.Rebind(source.Since(r.text(t.name))), []any{since}
	var res source.Result
	var err error
	other := func(k source.RowKey) { own.sawOther(k.Lead, note(k)) }
	switch t.name {
	case source.QueryLeads:
		own.n = make(map[int64]int32, len(t.recent))
		res, err = runRows(r, ctx, tx, t.name, text, args, source.ReadLeads, func(x source.Lead) {
			own.sawLead(x, note(x.Key()))
		})
	case source.QueryActivities:
		res, err = runKeys(r, ctx, tx, t.name, text, args, source.ReadActivities, other)
	case source.QueryOpportunities:
		res, err = runKeys(r, ctx, tx, t.name, text, args, source.ReadOpportunities, other)
	case source.QueryTouchpoints:
		res, err = runKeys(r, ctx, tx, t.name, text, args, source.ReadTouchpoints, other)
	default:
		panic("poller: not a lead-keyed query: " + t.name)
	}
	if err != nil {
		return m, err
	}
	for k, check := range res.Bad {
		if _, known := res.BadLead[k]; !known {
			m.bad[k] = badRow{check: check}
		}
	}
	m.watermark = recent.newest
	m.recent = recent.digests(m.watermark)
	// A skipped row changed: its lead is read again, which replaces its bad rows.
	for _, lead := range res.BadLead {
		dirty[lead] = true
		if own != nil {
			own.others[lead] = true
		}
	}
	return m, nil
}

// ownRows is what the deltas say of the leads whose own row changed: the rows of the leads
// query they returned, by lead, and the leads something else of changed (another query's rows,
// a skipped row). The touchpoints' delta has none.
type ownRows struct {
	// rows holds the changed rows; n counts every row of each lead, changed or not (a lead id
	// the leads query returns twice is not known from one row). The rows of the watermark
	// overlap read again unchanged, thousands a poll, are counted and not kept; the leads
	// delta makes n, sized for the last one's overlap.
	rows    map[int64][]source.Lead
	n       map[int64]int32
	changed map[int64]bool // a lead row of theirs changed
	others  map[int64]bool
}

// sawLead notes a row of the leads delta and whether it changed.
func (o *ownRows) sawLead(l source.Lead, changed bool) {
	if o == nil {
		return
	}
	o.n[l.ID]++
	if changed {
		o.rows[l.ID] = append(o.rows[l.ID], l)
		o.changed[l.ID] = true // only these may be known: another lead's rows may have changed unseen
	}
}

// sawOther notes a row of lead's of another delta (own is nil for the touchpoints' delta).
func (o *ownRows) sawOther(lead int64, changed bool) {
	if o != nil && changed {
		o.others[lead] = true
	}
}

// known returns the new row of each lead whose one lead row is all that changed.
func (o *ownRows) known() map[int64]source.Lead {
	out := map[int64]source.Lead{}
	for id := range o.changed {
		if o.n[id] == 1 && !o.others[id] {
			out[id] = o.rows[id][0]
		}
	}
	return out
}

// leadRows are every row of a set of leads, read by lead_id: the live tally's rows for a poll
// that recomputes only those leads.
type leadRows struct {
	owners   map[int64]source.Owner
	leads    map[int64][]source.Lead
	acts     map[int64][]source.Activity
	opps     map[int64][]source.Opportunity
	rejected map[int64][]rejected
	bad      map[string]map[any]badRow // by query: the skipped rows read
	read     map[string]map[int64]bool // by query: the leads whose rows were read (their bad rows are bad)
	textIDs  bool
}

type rejected struct {
	query  string
	digest int64
}

func (r *leadRows) EachOwner(fn func(source.Owner)) {
	for _, o := range r.owners {
		fn(o)
	}
}

func (r *leadRows) EachLead(fn func(source.Lead)) {
	for _, ls := range r.leads {
		for _, l := range ls {
			fn(l)
		}
	}
}

func (r *leadRows) EachActivity(fn func(source.Activity)) {
	for _, as := range r.acts {
		for _, a := range as {
			fn(a)
		}
	}
}

func (r *leadRows) EachOpportunity(fn func(source.Opportunity)) {
	for _, os := range r.opps {
		for _, o := range os {
			fn(o)
		}
	}
}

func (r *leadRows) Lead(id int64) (source.Lead, bool) {
	if ls := r.leads[id]; len(ls) > 0 {
		return ls[0], true
	}
	return source.Lead{}, false
}

// LeadsOf gives every row of a lead id: the tally counts a repeated one.
func (r *leadRows) LeadsOf(id int64, fn func(source.Lead)) {
	for _, l := range r.leads[id] {
		fn(l)
	}
}

func (r *leadRows) ActivitiesOf(lead int64, fn func(source.Activity)) {
	for _, a := range r.acts[lead] {
		fn(a)
	}
}

func (r *leadRows) OpportunitiesOf(lead int64, fn func(source.Opportunity)) {
	for _, o := range r.opps[lead] {
		fn(o)
	}
}

// RejectedOf gives the digests of the rows of a lead the decoder skipped (tally.CRM.Rejected).
func (r *leadRows) RejectedOf(lead int64, fn func(query string, digest int64)) {
	for _, x := range r.rejected[lead] {
		fn(x.query, x.digest)
	}
}

// leadBatch is how many leads one read by lead_id asks for.
const leadBatch = 5000

// readLeads reads every row of the planned leads, in batches by lead_id, but for what the plan
// says is known already: the lead rows the deltas returned (own), the activities and deals of the
// carried leads (their facts stand for them).
func (p *Poller) readLeads(ctx context.Context, r *crmReader, tx *readTx, tables []*crmTable, owners map[int64]source.Owner, plan *tally.Plan, own *ownRows) (*leadRows, error) {
	out := &leadRows{owners: owners, leads: map[int64][]source.Lead{}, acts: map[int64][]source.Activity{},
		opps: map[int64][]source.Opportunity{}, rejected: map[int64][]rejected{}, bad: map[string]map[any]badRow{},
		read: map[string]map[int64]bool{}}
	for id := range plan.Known {
		out.leads[id] = own.rows[id]
	}
	for _, t := range tables {
		skip := plan.Carry
		if t.name == source.QueryLeads {
			skip = plan.Known
		}
		read := map[int64]bool{}
		for id := range plan.Leads {
			if !skip[id] {
				read[id] = true
			}
		}
		out.read[t.name] = read
		bad := map[any]badRow{}
		out.bad[t.name] = bad
		ids := slices.Sorted(maps.Keys(read))
		for lo := 0; lo < len(ids); lo += leadBatch {
			batch := ids[lo:min(lo+leadBatch, len(ids))]
			nulls := t.nulls && slices.Contains(batch, 0)
			text := tx.Rebind(source.ForLeads(r.text(t.name), t.column, r.d.Driver, nulls))
			res, err := r.run(ctx, tx, t.name, text, []any{source.LeadsParam(batch, r.d.Driver)}, func(v any) {
				switch x := v.(type) {
				case source.Lead:
					out.leads[x.ID] = append(out.leads[x.ID], x)
				case source.Activity:
					out.acts[x.LeadID] = append(out.acts[x.LeadID], x)
				case source.Opportunity:
					out.opps[x.LeadID] = append(out.opps[x.LeadID], x)
				}
			})
			if err != nil {
				return nil, err
			}
			for _, rj := range res.Rejected {
				out.rejected[rj.Lead] = append(out.rejected[rj.Lead], rejected{t.name, rj.Digest})
			}
			addBad(bad, res)
			out.textIDs = out.textIDs || res.TextIDs
		}
	}
	return out, nil
}

// rangeRows reads every CRM row, a range of lead ids at a time, for the live tally's full
// recount: tally.RangeRows over the database. Several ranges are read at once, each on its own
// connection in a transaction that shares the poll's snapshot. A read that fails fails the
// others and the recount (Err).
type rangeRows struct {
	ctx    context.Context // the poll's: the reads run inside it
	r      *crmReader
	tables map[string]*crmTable
	owners map[int64]source.Owner
	pool   chan source.Querier
	closes []func()

	mu       sync.Mutex
	err      error
	textIDs  bool                     // a lead id (LeadIDs) was text
	found    map[string]*fullRead     // by query
	rejected map[int64][]leadRejected // by the range's lo
	now      time.Time
}

type leadRejected struct {
	query        string
	lead, digest int64
}

// exportedSnapshot is the form of pg_export_snapshot's result, checked before it is quoted.
var exportedSnapshot = regexp.MustCompile(`^[0-9A-Fa-f-]+$`)

// crmRanges prepares the reads of every row: the poll's transaction, and up to one more per core
// while max_open_connections allows, importing its snapshot.
func (p *Poller) crmRanges(ctx context.Context, tx *readTx, r *crmReader, tables []*crmTable, owners map[int64]source.Owner, now time.Time) (*rangeRows, error) {
	rr := &rangeRows{ctx: ctx, r: r, tables: map[string]*crmTable{}, owners: owners, now: now,
		found: map[string]*fullRead{}, rejected: map[int64][]leadRejected{}}
	for _, t := range tables {
		rr.tables[t.name] = t
		rr.found[t.name] = &fullRead{}
	}
	pool := []source.Querier{tx}
	if workers := min(r.d.MaxOpenConns, runtime.GOMAXPROCS(0)) - 1; r.d.Driver == "postgres" && workers > 0 {
		var id string
		if err := tx.GetContext(ctx, &id, "SELECT pg_export_snapshot()"); err != nil || !exportedSnapshot.MatchString(id) {
			return nil, fmt.Errorf("exporting the poll's snapshot for parallel reads: %v", err)
		}
		for range workers {
			wtx, err := beginRead(ctx, p.conn, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
			if err != nil {
				rr.close()
				return nil, fmt.Errorf("beginning a parallel read: %w", err)
			}
			rr.closes = append(rr.closes, func() { wtx.Rollback() }) //nolint:errcheck // read-only
			for _, q := range []string{"SET TRANSACTION SNAPSHOT '" + id + "'",
				readSettings(r.d.QueryTimeout)} {
				if _, err := wtx.ExecContext(ctx, q); err != nil {
					rr.close()
					return nil, fmt.Errorf("beginning a parallel read: %w", err)
				}
			}
			pool = append(pool, wtx)
		}
	}
	rr.pool = make(chan source.Querier, len(pool))
	for _, q := range pool {
		rr.pool <- q
	}
	return rr, nil
}

func (rr *rangeRows) close() {
	for _, c := range rr.closes {
		c()
	}
	rr.closes = nil
}

// Err is the first error a read met.
func (rr *rangeRows) Err() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.err
}

// with runs fn on a free connection, unless a read failed already.
func (rr *rangeRows) with(fn func(q source.Querier) error) {
	q := <-rr.pool
	defer func() { rr.pool <- q }()
	if rr.Err() != nil {
		return
	}
	if err := fn(q); err != nil {
		rr.mu.Lock()
		if rr.err == nil {
			rr.err = err
		}
		rr.mu.Unlock()
	}
}

func (rr *rangeRows) EachOwner(fn func(source.Owner)) {
	for _, o := range rr.owners {
		fn(o)
	}
}

// LeadIDs reads every lead's id.
func (rr *rangeRows) LeadIDs(fn func(int64)) {
	if rr.tables[source.QueryLeads] == nil {
		return
	}
	rr.with(func(q source.Querier) error {
		res, err := rr.r.timed(rr.ctx, source.QueryLeads, func(ctx context.Context) (source.Result, error) {
			return source.ReadIDs(ctx, q, source.Wrap(rr.r.query(source.QueryLeads), "tandem_q"), "id", fn)
		})
		rr.mu.Lock()
		rr.textIDs = rr.textIDs || res.TextIDs
		rr.mu.Unlock()
		return err
	})
}

// Ranged: text ids are read as one range.
func (rr *rangeRows) Ranged() bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return !rr.textIDs
}

// readIn reads the rows of a query whose lead is in [lo, hi), keeping what the poll keeps of a
// full read: the newest updated_at, the skipped rows.
func readIn[T keyed](rr *rangeRows, name string, lo, hi int64, read rowReader[T], fn func(T)) {
	t := rr.tables[name]
	if t == nil {
		return // disabled
	}
	rr.with(func(q source.Querier) error {
		nulls := t.nulls && lo <= 0 && (hi > 0 || hi == math.MaxInt64)
		if !rr.Ranged() {
			lo, hi, nulls = math.MinInt64, math.MaxInt64, true
		}
		text, args := source.InRange(rr.r.text(name), t.column, lo, hi, nulls)
		text = rebind(q, text)
		rr.r.p.checkRange(rr.ctx, q, name, t.column, lo, hi, text, args)
		recent := recentRows{overlap: rr.r.d.WatermarkOverlap, now: rr.now}
		res, err := runRows(rr.r, rr.ctx, q, name, text, args, read, func(x T) {
			recent.add(x.Key())
			fn(x)
		})
		rr.mu.Lock()
		defer rr.mu.Unlock()
		rr.found[name].add(&recent, res)
		for _, rj := range res.Rejected {
			rr.rejected[lo] = append(rr.rejected[lo], leadRejected{name, rj.Lead, rj.Digest})
		}
		return err
	})
}

// rebind binds a query's "?" placeholders for the connection's driver.
func rebind(q source.Querier, text string) string {
	if b, ok := q.(interface{ Rebind(string) string }); ok {
		return b.Rebind(text)
	}
	return text
}

func (rr *rangeRows) LeadsIn(lo, hi int64, fn func(source.Lead)) {
	readIn(rr, source.QueryLeads, lo, hi, source.ReadLeads, fn)
}

func (rr *rangeRows) ActivitiesIn(lo, hi int64, fn func(source.Activity)) {
	readIn(rr, source.QueryActivities, lo, hi, source.ReadActivities, fn)
}

func (rr *rangeRows) OpportunitiesIn(lo, hi int64, fn func(source.Opportunity)) {
	readIn(rr, source.QueryOpportunities, lo, hi, source.ReadOpportunities, fn)
}

// RejectedIn gives the digests of the skipped rows of the range's leads, once its rows are read.
func (rr *rangeRows) RejectedIn(lo, _ int64, fn func(query string, lead, digest int64)) {
	rr.mu.Lock()
	rs := rr.rejected[lo]
	delete(rr.rejected, lo)
	rr.mu.Unlock()
	for _, x := range rs {
		fn(x.query, x.lead, x.digest)
	}
}

// The rest of tally.CRMRows reads every row (a full recount reads by range).
func (rr *rangeRows) EachLead(fn func(source.Lead)) { rr.LeadsIn(math.MinInt64, math.MaxInt64, fn) }
func (rr *rangeRows) EachActivity(fn func(source.Activity)) {
	rr.ActivitiesIn(math.MinInt64, math.MaxInt64, fn)
}
func (rr *rangeRows) EachOpportunity(fn func(source.Opportunity)) {
	rr.OpportunitiesIn(math.MinInt64, math.MaxInt64, fn)
}
func (rr *rangeRows) Lead(int64) (source.Lead, bool) { panic("poller: a full recount reads by range") }
func (rr *rangeRows) ActivitiesOf(int64, func(source.Activity)) {
	panic("poller: a full recount reads by range")
}
func (rr *rangeRows) OpportunitiesOf(int64, func(source.Opportunity)) {
	panic("poller: a full recount reads by range")
}

// digestBucket is how many leads a range of the reconciliation's first comparison holds, when
// the ids are dense.
const digestBucket = 256

// bucketShift returns the shift that cuts n ids from first to last into ranges of 2^shift ids
// (id >> shift), about one per digestBucket ids for dense ids, and never more than
// n/digestBucket+1 ranges between the first id and the last. A shift costs PostgreSQL nothing
// per row, where width_bucket over an array of bounds cost a third of a reconciliation's 5M
// activities; with sparse ids a range holds more leads, which only widens the second comparison
// of a range that differs.
func bucketShift(n int, first, last int64) uint {
	if n == 0 {
		return 0
	}
	want := uint64(n/digestBucket + 1)
	span := uint64(last) - uint64(first) // the difference, even across 0
	var s uint
	for s < 63 && span>>s >= want {
		s++
	}
	return s
}

// reconcile compares the digests of t's rows, as the database sums them, with those the tally
// keeps of the leads not dirty already (kept), and marks dirty every lead that differs: drift,
// rows deleted (fewer than the tally holds) or changed without a newer updated_at. It also
// returns the skipped rows of no known lead (a NULL lead_id), which no read of a lead finds.
func (p *Poller) reconcile(ctx context.Context, r *crmReader, tx *readTx, t *crmTable, kept keptDigests, dirty map[int64]bool) ([2]uint64, map[any]badRow, error) {
	var db map[int64]tally.DigestSum
	compared := func(int64) bool { return true } // the kept leads db has every digest of
	var err error
	unattached := map[any]badRow{}
	if r.d.Driver == "postgres" {
		db, compared, err = p.digestsByBucket(ctx, r, tx, t, kept, dirty)
		if err == nil && !t.nulls {
			// The rows of no lead: skipped (a NULL where a lead_id is required).
			var res source.Result
			res, err = r.run(ctx, tx, t.name, source.Wrap(r.text(t.name), "tandem_n")+" WHERE "+t.column+" IS NULL", nil, func(any) {})
			addBad(unattached, res)
		}
	} else {
		db, err = p.digestsByReading(ctx, r, tx, t, unattached)
	}
	if err != nil {
		return [2]uint64{}, nil, err
	}
	for k, b := range unattached {
		if b.known {
			delete(unattached, k) // a lead's: its lead is read again if it changed
		}
	}
	var found [2]uint64      // deleted, changed
	seen := map[int64]bool{} // the kept leads of the ranges compared: db holds no other
	kept.each(func(x keptDigest) {
		if !compared(x.id) {
			return // in a range whose sums equal the database's
		}
		seen[x.id] = true
		k, d := x.digest(), db[x.id]
		if d.Same(k) {
			return
		}
		dirty[x.id] = true
		switch {
		case d.N < k.N:
			found[0] += uint64(k.N - d.N)
		default:
			found[1]++
		}
	})
	for id, d := range db {
		if !seen[id] && !dirty[id] && d.N > 0 {
			dirty[id] = true // rows the tally never saw: inserted behind the watermark
		}
	}
	return found, unattached, nil
}

// digestsByBucket asks PostgreSQL for the digests of t's rows, compares them with the kept ones,
// and returns the per-lead digests of the ranges of about digestBucket leads that differ, with
// which kept leads those are (compared); the other ranges equal what is kept. Dirty leads are
// left out on both sides: they are read again anyway.
func (p *Poller) digestsByBucket(ctx context.Context, r *crmReader, tx *readTx, t *crmTable, kept keptDigests, dirty map[int64]bool) (map[int64]tally.DigestSum, func(int64) bool, error) {
	var shift uint
	if kept.n > 0 {
		shift = bucketShift(kept.n, kept.first, kept.last)
	}
	bucket := func(id int64) int64 { return id >> shift }
	col := t.column
	if t.nulls {
		col = "coalesce(" + col + ", 0)" // entity 0: the rows of no lead
	}
	bucketOf := fmt.Sprintf("((%s)::bigint >> %d)", col, shift) // PostgreSQL's >> is arithmetic, as Go's
	skip := slices.Sorted(maps.Keys(dirty))
	where := col + " IS NOT NULL AND NOT (" + col + " = ANY(?))"
	differ := map[int64]bool{}
	compared := func(id int64) bool { return differ[bucket(id)] }
	out := map[int64]tally.DigestSum{}
	sums := func(column, where string, fn func(id, n, sum int64), args ...any) error {
		_, err := r.timed(ctx, t.name, func(ctx context.Context) (source.Result, error) {
			return source.DigestSums(ctx, tx, r.query(t.name), p.digestOf(t.name), column, where, fn, args...)
		})
		return err
	}
	err := sumsPlanned(ctx, tx, func() error {
		// First the sum of every row at once: a reconciliation usually finds nothing, and one
		// sum is cheaper for the server than a sum per range (no grouping of every row). Only a
		// table that differs is summed again by ranges, and the kept sums added up by range.
		var total, db tally.DigestSum
		kept.each(func(x keptDigest) {
			total = tally.DigestSum{N: total.N + int64(x.n), Sum: total.Sum + int64(x.sum)}
		})
		if err := sums("", where, func(_, n, sum int64) { db = tally.DigestSum{N: n, Sum: sum} }, source.LeadsParam(skip, "postgres")); err != nil {
			return err
		}
		p.logger.Debug("reconciliation by total", "query", t.name, "same", total.Same(db))
		if total.Same(db) {
			return nil
		}
		want, got := map[int64]tally.DigestSum{}, map[int64]bool{}
		kept.each(func(x keptDigest) {
			b := want[bucket(x.id)]
			want[bucket(x.id)] = tally.DigestSum{N: b.N + int64(x.n), Sum: b.Sum + int64(x.sum)}
		})
		err := sums(bucketOf, where, func(b, n, sum int64) {
			got[b] = true
			if !want[b].Same(tally.DigestSum{N: n, Sum: sum}) {
				differ[b] = true
			}
		}, source.LeadsParam(skip, "postgres"))
		if err != nil {
			return err
		}
		for b := range want {
			if !got[b] {
				differ[b] = true // every row of the range is gone
			}
		}
		p.logger.Debug("reconciliation by ranges of leads", "query", t.name, "ranges", len(want), "differ", len(differ))
		if len(differ) == 0 {
			return nil
		}
		buckets := slices.Sorted(maps.Keys(differ))
		return sums(col, where+" AND "+bucketOf+" = ANY(?::bigint[])", func(id, n, sum int64) {
			out[id] = tally.DigestSum{N: n, Sum: sum}
		}, source.LeadsParam(skip, "postgres"), source.LeadsParam(buckets, "postgres"))
	})
	return out, compared, err
}

// digestsByReading reads every row of t and sums their digests per lead (a database that sums
// none: SQLite, small by nature).
func (p *Poller) digestsByReading(ctx context.Context, r *crmReader, tx *readTx, t *crmTable, bad map[any]badRow) (map[int64]tally.DigestSum, error) {
	out := map[int64]tally.DigestSum{}
	add := func(lead, digest int64) {
		x := out[lead]
		out[lead] = tally.DigestSum{N: x.N + 1, Sum: x.Sum + digest}
	}
	res, err := r.run(ctx, tx, t.name, r.text(t.name), nil, func(v any) {
		k := rowOf(v)
		add(k.Lead, k.Digest)
	})
	for _, rj := range res.Rejected {
		add(rj.Lead, rj.Digest)
	}
	addBad(bad, res)
	return out, err
}

var (
	_ tally.RangeRows = (*rangeRows)(nil)
	_ tally.CRMRows   = (*rangeRows)(nil)
	_ tally.CRMRows   = (*leadRows)(nil)
)
