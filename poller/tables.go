package poller

import (
	"slices"
	"time"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// crmMirror holds the CRM's rows between polls; it is the live CRM tally's tally.CRMRows.
type crmMirror struct {
	owners     *table[int64, source.Owner]
	leads      *table[int64, source.Lead]
	activities *table[int64, source.Activity]
	opps       *table[int64, source.Opportunity]
}

func newCRMMirror() *crmMirror {
	return &crmMirror{
		owners: newTable(func(o source.Owner) int64 { return o.ID }, func(source.Owner) time.Time { return time.Time{} }),
		leads:  packed(newTable(func(l source.Lead) int64 { return l.ID }, func(l source.Lead) time.Time { return l.UpdatedAt }), leadCodec),
		activities: packedGroups(newTable(func(a source.Activity) int64 { return a.ID }, func(a source.Activity) time.Time { return a.UpdatedAt }),
			activityCodec, func(a source.Activity) int64 { return a.LeadID }),
		opps: packedGroups(newTable(func(o source.Opportunity) int64 { return o.ID }, func(o source.Opportunity) time.Time { return o.UpdatedAt }),
			opportunityCodec, func(o source.Opportunity) int64 { return o.LeadID }),
	}
}

func (m *crmMirror) EachOwner(fn func(source.Owner))             { m.owners.each(fn) }
func (m *crmMirror) EachLead(fn func(source.Lead))               { m.leads.each(fn) }
func (m *crmMirror) EachActivity(fn func(source.Activity))       { m.activities.each(fn) }
func (m *crmMirror) EachOpportunity(fn func(source.Opportunity)) { m.opps.each(fn) }
func (m *crmMirror) Lead(id int64) (source.Lead, bool)           { return m.leads.rows.get(id) }
func (m *crmMirror) ActivitiesOf(lead int64, fn func(source.Activity)) {
	m.activities.eachOf(lead, fn)
}
func (m *crmMirror) OpportunitiesOf(lead int64, fn func(source.Opportunity)) {
	m.opps.eachOf(lead, fn)
}

// LeadIDs and Ranged make the mirror a tally.RangeRows.
func (m *crmMirror) LeadIDs(fn func(int64)) { m.leads.each(func(l source.Lead) { fn(l.ID) }) }
func (m *crmMirror) Ranged() bool           { return true }

// The mirror keeps its big tables in lead order, so a full recount can read them a range of
// leads at a time (tally.RangeRows) instead of every row once per round.
func (m *crmMirror) LeadsIn(lo, hi int64, fn func(source.Lead)) { m.leads.eachIn(lo, hi, fn) }
func (m *crmMirror) ActivitiesIn(lo, hi int64, fn func(source.Activity)) {
	m.activities.eachIn(lo, hi, fn)
}
func (m *crmMirror) OpportunitiesIn(lo, hi int64, fn func(source.Opportunity)) {
	m.opps.eachIn(lo, hi, fn)
}

// campaignMirror holds the campaign database's rows between polls; it is the live campaign
// tally's tally.CampaignRows.
type campaignMirror struct {
	campaigns *table[int64, source.Campaign]
	stats     *table[[2]int64, source.CampaignStat]
	touches   *table[int64, source.Touchpoint]
}

func newCampaignMirror() *campaignMirror {
	return &campaignMirror{
		campaigns: newTable(func(c source.Campaign) int64 { return c.ID }, func(c source.Campaign) time.Time { return c.UpdatedAt }),
		stats:     newTable(tally.StatKey, func(s source.CampaignStat) time.Time { return s.UpdatedAt }),
		touches: packedGroups(newTable(func(t source.Touchpoint) int64 { return t.ID }, func(t source.Touchpoint) time.Time { return t.UpdatedAt }),
			touchpointCodec, func(t source.Touchpoint) int64 { return t.LeadID }),
	}
}

func (m *campaignMirror) EachCampaign(fn func(source.Campaign))     { m.campaigns.each(fn) }
func (m *campaignMirror) EachStat(fn func(source.CampaignStat))     { m.stats.each(fn) }
func (m *campaignMirror) EachTouchpoint(fn func(source.Touchpoint)) { m.touches.each(fn) }
func (m *campaignMirror) Stat(k [2]int64) (source.CampaignStat, bool) {
	return m.stats.rows.get(k)
}
func (m *campaignMirror) Touchpoint(id int64) (source.Touchpoint, bool) {
	return m.touches.rows.get(id)
}
func (m *campaignMirror) TouchesOf(lead int64, fn func(source.Touchpoint)) {
	m.touches.eachOf(lead, fn)
}

// TouchBounds and TouchesIn make the mirror a tally.TouchRangeRows: its touchpoints are kept in
// lead order.
func (m *campaignMirror) TouchBounds(minRanges, perRange int) []int64 {
	var leads []int64
	m.touches.each(func(t source.Touchpoint) { leads = append(leads, t.LeadID) })
	slices.Sort(leads)
	return tally.BoundsOf(leads, tally.RangesOf(len(leads), minRanges, perRange))
}

func (m *campaignMirror) TouchesIn(lo, hi int64, fn func(source.Touchpoint)) {
	m.touches.eachIn(lo, hi, fn)
}

// changeSet is what a poll of the table steps changes, as the live tallies need it.
type changeSet struct {
	keys    bool              // collect the keys below (not on a first poll: it tallies everything)
	rebuild bool              // a campaign changed
	stats   map[[2]int64]bool // stat rows that change
}

func newChangeSet() *changeSet { return &changeSet{stats: map[[2]int64]bool{}} }

// tableStep makes a poll step of a table; onChange sees each changed row before it is applied.
func tableStep[K comparable, V comparable](name string, t *table[K, V], q source.Querier,
	fn func(ctxQ, source.Querier, string, func(V), ...any) (source.Result, error), watermarked bool, onChange func(old, new *V)) step {
	st := step{name: name, read: bind(t, q, fn, onChange), watermark: func() time.Time { return t.watermark }, incremental: func() *bool { return nil }}
	if watermarked {
		st.incremental = func() *bool { return &t.incremental }
	}
	return st
}

// steps lists the poll's queries in order, reading through q and recording changes into c. The
// CRM's are only a RowsOnly poll's (the backfill's): the live CRM poll reads by lead (readCRM).
func (p *Poller) steps(q source.Querier, c *changeSet) []step {
	switch p.db {
	case source.CRM:
		m := p.crm
		return []step{
			tableStep(source.QueryOwners, m.owners, q, source.ReadOwners, false, func(_, _ *source.Owner) {}),
			tableStep(source.QueryLeads, m.leads, q, source.ReadLeads, true, func(_, _ *source.Lead) {}),
			tableStep(source.QueryActivities, m.activities, q, source.ReadActivities, true, func(_, _ *source.Activity) {}),
			tableStep(source.QueryOpportunities, m.opps, q, source.ReadOpportunities, true, func(_, _ *source.Opportunity) {}),
		}
	case source.Campaigns:
		m := p.camp
		return []step{
			tableStep(source.QueryCampaigns, m.campaigns, q, source.ReadCampaigns, true, func(_, _ *source.Campaign) { c.rebuild = true }),
			tableStep(source.QueryCampaignStats, m.stats, q, source.ReadCampaignStats, true, func(old, new *source.CampaignStat) {
				if !c.keys {
					return
				}
				if old != nil {
					c.stats[tally.StatKey(*old)] = true
				} else {
					c.stats[tally.StatKey(*new)] = true
				}
			}),
			tableStep(source.QueryTouchpoints, m.touches, q, source.ReadTouchpoints, true, func(_, _ *source.Touchpoint) {}),
		}
	}
	return nil
}

// Detach hands over the rows the poller holds (nil for the other database's kind) and lets go of
// everything else: its tallies and snapshot, which the backfill does not need and which would
// otherwise stay in memory beside its own. The poller must not poll again.
func (p *Poller) Detach() (crm tally.CRMRows, camp tally.CampaignRows) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.crm != nil {
		crm = p.crm
	}
	if p.camp != nil {
		camp = p.camp
	}
	p.crm, p.camp, p.liveCRM, p.liveCamp, p.snap = nil, nil, nil, nil, nil
	return crm, camp
}

var (
	_ tally.RangeRows      = (*crmMirror)(nil)
	_ tally.TouchRangeRows = (*campaignMirror)(nil)
)
