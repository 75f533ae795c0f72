package poller

import (
	"context"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// The live campaign poll keeps the campaigns and their daily stats (a few thousand rows), but no
// touchpoint: the live campaign tally keeps each lead's touches, compactly, and the poll reads
// touchpoints as the CRM poll reads its rows (poller/crm.go): the changed ones from the
// watermark, then every touchpoint of each lead they belong to by lead_id; every touchpoint by
// ranges of lead ids for a full recount; and the digests per lead for the reconciliation.

// readTouches runs the live campaign tally over a poll whose campaigns and stats were read into
// their tables (changes; apply applies them), reading the touchpoints it needs. It returns the
// snapshot and what to keep once the poll succeeded.
func (p *Poller) readTouches(ctx context.Context, tx *readTx, changes *changeSet, apply func(), now time.Time, full bool, stats map[string]queryStats) (*tally.Snapshot, func(), error) {
	d := p.cfg.DB(source.Campaigns)
	t := p.touchTable
	r := &crmReader{p: p, db: source.Campaigns, d: d, stats: &pollStats{m: stats}}
	if err := r.chooseDigests(ctx, tx, source.QueryTouchpoints); err != nil {
		return nil, nil, err
	}
	rows := &touchRows{ctx: ctx, mirror: p.camp, r: r, tx: tx, t: t, now: now, byLead: map[int64][]source.Touchpoint{}, bad: map[any]badRow{}}
	enabled := d.Enabled(source.QueryTouchpoints)
	rebuild := changes.rebuild || !p.liveCamp.Built() || p.touchText
	if enabled && (full || !p.liveCamp.Built()) {
		if err := r.probe(ctx, tx, t); err != nil {
			return nil, nil, err
		}
	}
	dirty := map[int64]bool{}
	var marks []mark
	var drift [2]uint64
	var unattached map[any]badRow
	if enabled && !rebuild {
		if t.incremental {
			m, err := p.crmDelta(ctx, r, tx, t, now, dirty, nil)
			if err != nil {
				return nil, nil, err
			}
			marks = append(marks, m)
		}
		if full || !t.incremental {
			kept := newKept(p.liveCamp.Digests, func(lead int64) bool { return !dirty[lead] })
			found, un, err := p.reconcile(ctx, r, tx, t, kept, dirty)
			if err != nil {
				return nil, nil, err
			}
			unattached = un
			if t.incremental {
				drift = found
			}
		}
		if err := rows.readLeads(ctx, dirty); err != nil {
			return nil, nil, err
		}
	}
	if !enabled {
		rows.disabled = true
	}
	snap, _ := p.liveCamp.Update(rows, changes.stats, dirty, rebuild, apply, now)
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	commit := func() {
		if rows.full != nil { // a full recount read every touchpoint (the first poll, or one the tally chose)
			t.keepFull(rows.full, d.WatermarkOverlap)
			p.touchText = rows.full.textIDs
		} else {
			for _, m := range marks {
				m.keep()
			}
			t.keepLeadBad(dirty, rows.bad)
			if unattached != nil {
				t.keepUnattached(unattached)
			}
		}
		if drift[0] > 0 || drift[1] > 0 {
			p.logger.Warn("reconciliation found rows the incremental reads missed", "query", t.name, "deleted", drift[0], "changed", drift[1])
		}
		p.drift[t.name+"\xffdeleted"] += drift[0]
		p.drift[t.name+"\xffchanged"] += drift[1]
		m := p.camp
		snap.AddSkipped(source.QueryCampaigns, m.campaigns.skipped)
		snap.AddSkipped(source.QueryCampaignStats, m.stats.skipped)
		snap.AddSkipped(source.QueryTouchpoints, t.skipped())
	}
	return snap, commit, nil
}

// touchRows are the campaign database's rows for the live campaign tally (tally.CampaignRows,
// tally.TouchRangeRows): the campaigns and stats from the poller's tables, the touchpoints read
// from the database in the poll's transaction — the changed leads' (readLeads), or a range of
// leads' for a full recount. A read that fails fails the poll (Err).
type touchRows struct {
	ctx      context.Context // the poll's: the reads run inside it
	mirror   *campaignMirror
	r        *crmReader
	tx       *readTx
	t        *crmTable
	now      time.Time
	disabled bool // disabled_queries: no touchpoint
	byLead   map[int64][]source.Touchpoint

	mu  sync.Mutex
	err error
	// What the reads found: the skipped rows of the changed leads, and what a full recount's
	// reads found (nil when there was none).
	bad  map[any]badRow
	full *fullRead
	// textIDs: TouchBounds found a text lead id (then one range is read).
	textIDs bool
}

func (rr *touchRows) fail(err error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.err == nil {
		rr.err = err
	}
}

// Err is the first error a read met.
func (rr *touchRows) Err() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.err
}

func (rr *touchRows) EachCampaign(fn func(source.Campaign))       { rr.mirror.EachCampaign(fn) }
func (rr *touchRows) EachStat(fn func(source.CampaignStat))       { rr.mirror.EachStat(fn) }
func (rr *touchRows) Stat(k [2]int64) (source.CampaignStat, bool) { return rr.mirror.Stat(k) }

// TouchesOf gives a changed lead's touchpoints, read by readLeads.
func (rr *touchRows) TouchesOf(lead int64, fn func(source.Touchpoint)) {
	for _, x := range rr.byLead[lead] {
		fn(x)
	}
}

// readLeads reads every touchpoint of the given leads, in batches.
func (rr *touchRows) readLeads(ctx context.Context, leads map[int64]bool) error {
	ids := slices.Sorted(maps.Keys(leads))
	r, t := rr.r, rr.t
	for lo := 0; lo < len(ids); lo += leadBatch {
		batch := ids[lo:min(lo+leadBatch, len(ids))]
		text := rr.tx.Rebind(source.ForLeads(r.text(t.name), t.column, r.d.Driver, false))
		res, err := r.run(ctx, rr.tx, t.name, text, []any{source.LeadsParam(batch, r.d.Driver)}, func(v any) {
			x := v.(source.Touchpoint)
			rr.byLead[x.LeadID] = append(rr.byLead[x.LeadID], x)
		})
		if err != nil {
			return err
		}
		addBad(rr.bad, res)
	}
	return nil
}

// EachTouchpoint reads every touchpoint.
func (rr *touchRows) EachTouchpoint(fn func(source.Touchpoint)) {
	rr.TouchesIn(math.MinInt64, math.MaxInt64, fn)
}

// TouchBounds samples about one touchpoint's lead in a hundred to split the leads into ranges
// of about as many touchpoints (tally.TouchRangeRows); none (one range) for text lead ids.
func (rr *touchRows) TouchBounds(minRanges, perRange int) []int64 {
	if rr.disabled {
		return nil
	}
	r := rr.r
	sample := "random() < 0.01"
	if r.d.Driver != "postgres" {
		sample = "abs(random()) % 100 = 0"
	}
	var ids []int64
	res, err := r.timed(rr.ctx, rr.t.name, func(ctx context.Context) (source.Result, error) {
		return source.ReadIDs(ctx, rr.tx, source.Wrap(r.query(rr.t.name), "tandem_q")+" WHERE "+sample, "lead_id", func(id int64) { ids = append(ids, id) })
	})
	if err != nil {
		rr.fail(err)
		return nil
	}
	rr.mu.Lock()
	rr.textIDs = rr.textIDs || res.TextIDs
	rr.mu.Unlock()
	k := tally.RangesOf(len(ids)*100, minRanges, perRange) // the sample is about a hundredth
	if res.TextIDs || len(ids) < k {
		return nil
	}
	slices.Sort(ids)
	return tally.BoundsOf(ids, k)
}

// TouchesIn reads the touchpoints whose lead is in [lo, hi), keeping what the poll keeps of a
// full read: the newest updated_at, the skipped rows.
func (rr *touchRows) TouchesIn(lo, hi int64, fn func(source.Touchpoint)) {
	if rr.disabled || rr.Err() != nil {
		return
	}
	r := rr.r
	text, args := source.InRange(r.text(rr.t.name), rr.t.column, lo, hi, false)
	text = rr.tx.Rebind(text)
	r.p.checkRange(rr.ctx, rr.tx, rr.t.name, rr.t.column, lo, hi, text, args)
	recent := recentRows{overlap: r.d.WatermarkOverlap, now: rr.now}
	res, err := runRows(r, rr.ctx, rr.tx, rr.t.name, text, args, source.ReadTouchpoints, func(x source.Touchpoint) {
		recent.add(x.Key())
		fn(x)
	})
	if err != nil {
		rr.fail(err)
		return
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.full == nil {
		rr.full = &fullRead{textIDs: rr.textIDs}
	}
	rr.full.add(&recent, res)
}

var (
	_ tally.CampaignRows   = (*touchRows)(nil)
	_ tally.TouchRangeRows = (*touchRows)(nil)
)
