// Package backfill computes the series a scrape would have seen at past instants, from the rows
// the databases hold now, and writes them as OpenMetrics with timestamps for
// `promtool tsdb create-blocks-from openmetrics`.
//
// The numbers come from the live exporter's own tallies (package tally) run with the clock set to
// each instant, on a view of the rows as they stood then: what the rows say happened after the
// instant has not happened yet. This file is that view; it is pure, and the only place the rules
// of "as of an instant" live.
package backfill

import (
	"math"
	"time"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// after reports a set timestamp later than t.
func after(v, t time.Time) bool { return !v.IsZero() && v.After(t) }

// LeadAt is a lead as it stood at t; ok is false if it did not exist yet (created after t).
// A stage dated after t was not entered yet. When anything is taken back, the lead's status at t
// is unknown (the CRM keeps only the current one): it is cleared, so a status that is terminal
// now (won, disqualified) does not take the lead out of the follow-up queue before its time.
func LeadAt(l source.Lead, t time.Time, laterDeal bool) (source.Lead, bool) {
	if after(l.CreatedAt, t) {
		return source.Lead{}, false
	}
	rewound := laterDeal
	for _, v := range []*time.Time{&l.MQLAt, &l.SQLAt, &l.DisqualifiedAt} {
		if after(*v, t) {
			*v, rewound = time.Time{}, true
		}
	}
	if l.DisqualifiedAt.IsZero() {
		l.DisqualifiedReason = ""
	}
	if rewound {
		l.Status = ""
	}
	return l, true
}

// ActivityAt is an activity at t: it exists once it has occurred.
func ActivityAt(a source.Activity, t time.Time) bool { return !after(a.OccurredAt, t) }

// OpportunityAt is a deal as it stood at t: absent before it was created, open until it closed.
// The stage it was in while open is not kept by the CRM: it is unknown (and weighted with
// funnel.default_stage_probability).
func OpportunityAt(o source.Opportunity, t time.Time) (source.Opportunity, bool) {
	if after(o.CreatedAt, t) {
		return source.Opportunity{}, false
	}
	if after(o.ClosedAt, t) {
		o.ClosedAt, o.IsClosed, o.IsWon, o.Stage = time.Time{}, false, false, ""
	}
	return o, true
}

// changesAfter reports a deal that was created or closed after t.
func changesAfter(o source.Opportunity, t time.Time) bool {
	return after(o.CreatedAt, t) || after(o.ClosedAt, t)
}

// StatAt reports whether a campaign-day existed at t: its day had begun somewhere, that is by
// t + 14h (UTC+14, the earliest time zone). An ad platform dates its rows in the ad account's own
// zone, which is often ahead of the company's: the live exporter counts such a row as soon as it
// is there, so the history must count it from the same moment, or the two would differ at the
// join. The row holds the whole day's spend, as the database does now.
func StatAt(s source.CampaignStat, t time.Time) bool {
	y, m, d := s.Day.Date()
	return !time.Date(y, m, d, 0, 0, 0, 0, time.UTC).After(t.Add(earliestZone))
}

// earliestZone is how far ahead of UTC the earliest time zone is (Pacific/Kiritimati).
const earliestZone = 14 * time.Hour

// TouchpointAt reports whether a marketing touch had occurred by t.
func TouchpointAt(x source.Touchpoint, t time.Time) bool { return !after(x.OccurredAt, t) }

// crmAt is the CRM's rows as they stood at t (tally.CRMRows, tally.RangeRows).
type crmAt struct {
	rows    tally.CRMRows
	byRange tally.RangeRows // rows, read by range of lead ids
	t       time.Time
}

// viewCRM is a view of the CRM's rows (at t, to be set).
func viewCRM(rows tally.CRMRows) *crmAt {
	v := &crmAt{rows: rows}
	if rr, ok := rows.(tally.RangeRows); ok {
		v.byRange = rr // the poller's mirror keeps its rows in lead order
	} else {
		v.byRange = tally.ByScan(rows)
	}
	return v
}

func (v *crmAt) laterDeal(lead int64) bool {
	later := false
	v.rows.OpportunitiesOf(lead, func(o source.Opportunity) { later = later || changesAfter(o, v.t) })
	return later
}

func (v *crmAt) EachOwner(fn func(source.Owner)) { v.rows.EachOwner(fn) }
func (v *crmAt) EachLead(fn func(source.Lead)) {
	v.rows.EachLead(func(l source.Lead) {
		if l, ok := LeadAt(l, v.t, v.laterDeal(l.ID)); ok {
			fn(l)
		}
	})
}
func (v *crmAt) EachActivity(fn func(source.Activity)) {
	v.rows.EachActivity(func(a source.Activity) {
		if ActivityAt(a, v.t) {
			fn(a)
		}
	})
}
func (v *crmAt) EachOpportunity(fn func(source.Opportunity)) {
	v.rows.EachOpportunity(func(o source.Opportunity) {
		if o, ok := OpportunityAt(o, v.t); ok {
			fn(o)
		}
	})
}
func (v *crmAt) Lead(id int64) (source.Lead, bool) {
	l, ok := v.rows.Lead(id)
	if !ok {
		return l, false
	}
	return LeadAt(l, v.t, v.laterDeal(id))
}
func (v *crmAt) ActivitiesOf(lead int64, fn func(source.Activity)) {
	v.rows.ActivitiesOf(lead, func(a source.Activity) {
		if ActivityAt(a, v.t) {
			fn(a)
		}
	})
}
func (v *crmAt) OpportunitiesOf(lead int64, fn func(source.Opportunity)) {
	v.rows.OpportunitiesOf(lead, func(o source.Opportunity) {
		if o, ok := OpportunityAt(o, v.t); ok {
			fn(o)
		}
	})
}

// campaignsAt is the campaign database's rows as they stood at t (tally.CampaignRows).
type campaignsAt struct {
	rows tally.CampaignRows
	t    time.Time
}

// datedCampaignsAt is campaignsAt with the touchpoints' times and ids in time order (the
// stepper's touch events): tally.DatedRows, so that a roll-over finds the touches dated in the
// new periods by binary search instead of reading millions of them at every day's start.
type datedCampaignsAt struct {
	*campaignsAt
	touches *events
	from    time.Time // the events' first instant
}

// TouchLeadsDated gives the lead of every touchpoint dated in p (tally.DatedRows).
func (v datedCampaignsAt) TouchLeadsDated(p fiscal.Period, fn func(lead int64)) int {
	es := v.touches
	// Event seconds are rounded up (eventSecond): "at or before a whole second" is exact; a
	// touch in the second before the period, or at its end, may come in too, which only
	// recounts it.
	all := es.upTo(eventSecond(v.t, v.from))
	lo := es.upTo(eventSecond(p.Start, v.from) - 1)
	hi := min(all, es.upTo(eventSecond(p.End, v.from)))
	for _, id := range es.id[lo:max(lo, hi)] {
		fn(id)
	}
	return all
}

func (v *campaignsAt) EachCampaign(fn func(source.Campaign)) { v.rows.EachCampaign(fn) }
func (v *campaignsAt) EachStat(fn func(source.CampaignStat)) {
	v.rows.EachStat(func(s source.CampaignStat) {
		if StatAt(s, v.t) {
			fn(s)
		}
	})
}
func (v *campaignsAt) EachTouchpoint(fn func(source.Touchpoint)) {
	v.rows.EachTouchpoint(func(x source.Touchpoint) {
		if TouchpointAt(x, v.t) {
			fn(x)
		}
	})
}
func (v *campaignsAt) Stat(k [2]int64) (source.CampaignStat, bool) {
	s, ok := v.rows.Stat(k)
	return s, ok && StatAt(s, v.t)
}

// TouchBounds and TouchesIn read the touchpoints by range of leads, when the rows can
// (tally.TouchRangeRows); otherwise every one of them, kept for the range.
func (v *campaignsAt) TouchBounds(minRanges, perRange int) []int64 {
	if rr, ok := v.rows.(tally.TouchRangeRows); ok {
		return rr.TouchBounds(minRanges, perRange)
	}
	return nil
}

func (v *campaignsAt) TouchesIn(lo, hi int64, fn func(source.Touchpoint)) {
	keep := func(x source.Touchpoint) {
		if TouchpointAt(x, v.t) {
			fn(x)
		}
	}
	if rr, ok := v.rows.(tally.TouchRangeRows); ok {
		rr.TouchesIn(lo, hi, keep)
		return
	}
	v.rows.EachTouchpoint(func(x source.Touchpoint) {
		if x.LeadID >= lo && (x.LeadID < hi || hi == math.MaxInt64) {
			keep(x)
		}
	})
}

func (v *campaignsAt) TouchesOf(lead int64, fn func(source.Touchpoint)) {
	v.rows.TouchesOf(lead, func(x source.Touchpoint) {
		if TouchpointAt(x, v.t) {
			fn(x)
		}
	})
}

// LeadIDs gives the ids of the leads that exist at t (tally.RangeRows).
func (v *crmAt) LeadIDs(fn func(int64)) { v.EachLead(func(l source.Lead) { fn(l.ID) }) }

// Ranged: the rows are read by range of lead ids.
func (v *crmAt) Ranged() bool { return true }

// LeadsIn, ActivitiesIn and OpportunitiesIn give the rows of a range of lead ids as they stood
// at t (tally.RangeRows), so that a full recount's tallies each read their own range of the
// rows rather than every row.
func (v *crmAt) LeadsIn(lo, hi int64, fn func(source.Lead)) {
	v.byRange.LeadsIn(lo, hi, func(l source.Lead) {
		if l, ok := LeadAt(l, v.t, v.laterDeal(l.ID)); ok {
			fn(l)
		}
	})
}

func (v *crmAt) ActivitiesIn(lo, hi int64, fn func(source.Activity)) {
	v.byRange.ActivitiesIn(lo, hi, func(a source.Activity) {
		if ActivityAt(a, v.t) {
			fn(a)
		}
	})
}

func (v *crmAt) OpportunitiesIn(lo, hi int64, fn func(source.Opportunity)) {
	v.byRange.OpportunitiesIn(lo, hi, func(o source.Opportunity) {
		if o, ok := OpportunityAt(o, v.t); ok {
			fn(o)
		}
	})
}

var (
	_ tally.RangeRows      = (*crmAt)(nil)
	_ tally.TouchRangeRows = (*campaignsAt)(nil)
	_ tally.DatedRows      = datedCampaignsAt{}
)
