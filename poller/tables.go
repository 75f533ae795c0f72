package poller

import (
	"time"

	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// crmMirror holds the CRM's rows between polls.
type crmMirror struct {
	owners     *table[int64, source.Owner]
	leads      *table[int64, source.Lead]
	activities *table[int64, source.Activity]
	opps       *table[int64, source.Opportunity]
}

func newCRMMirror() *crmMirror {
	return &crmMirror{
		owners:     newTable(func(o source.Owner) int64 { return o.ID }, func(source.Owner) time.Time { return time.Time{} }),
		leads:      newTable(func(l source.Lead) int64 { return l.ID }, func(l source.Lead) time.Time { return l.UpdatedAt }),
		activities: newTable(func(a source.Activity) int64 { return a.ID }, func(a source.Activity) time.Time { return a.UpdatedAt }),
		opps:       newTable(func(o source.Opportunity) int64 { return o.ID }, func(o source.Opportunity) time.Time { return o.UpdatedAt }),
	}
}

// campaignMirror holds the campaign database's rows between polls.
type campaignMirror struct {
	campaigns *table[int64, source.Campaign]
	stats     *table[[2]int64, source.CampaignStat]
	touches   *table[int64, source.Touchpoint]
}

func newCampaignMirror() *campaignMirror {
	return &campaignMirror{
		campaigns: newTable(func(c source.Campaign) int64 { return c.ID }, func(c source.Campaign) time.Time { return c.UpdatedAt }),
		stats: newTable(func(s source.CampaignStat) [2]int64 { return [2]int64{s.CampaignID, s.Day.Unix()} },
			func(s source.CampaignStat) time.Time { return s.UpdatedAt }),
		touches: newTable(func(t source.Touchpoint) int64 { return t.ID }, func(t source.Touchpoint) time.Time { return t.UpdatedAt }),
	}
}

func tableStep[K comparable, V comparable](name string, t *table[K, V], q source.Querier,
	fn func(ctxQ, source.Querier, string, func(V), ...any) (source.Result, error), watermarked bool) step {
	st := step{name: name, read: bind(t, q, fn), watermark: func() time.Time { return t.watermark }, incremental: func() *bool { return nil }}
	if watermarked {
		st.incremental = func() *bool { return &t.incremental }
	}
	return st
}

// steps lists the poll's queries in order, reading through q.
func (p *Poller) steps(q source.Querier) []step {
	switch p.db {
	case source.CRM:
		m := p.crm
		return []step{
			tableStep(source.QueryOwners, m.owners, q, source.ReadOwners, false),
			tableStep(source.QueryLeads, m.leads, q, source.ReadLeads, true),
			tableStep(source.QueryActivities, m.activities, q, source.ReadActivities, true),
			tableStep(source.QueryOpportunities, m.opps, q, source.ReadOpportunities, true),
		}
	case source.Campaigns:
		m := p.camp
		return []step{
			tableStep(source.QueryCampaigns, m.campaigns, q, source.ReadCampaigns, true),
			tableStep(source.QueryCampaignStats, m.stats, q, source.ReadCampaignStats, true),
			tableStep(source.QueryTouchpoints, m.touches, q, source.ReadTouchpoints, true),
		}
	}
	return nil
}

// feed hands every row of a table, and the rows its reads rejected, to a tally.
func feed[K comparable, V comparable](t *table[K, V], query string, row func(V), skipped func(string, source.Result)) {
	for _, v := range t.rows {
		row(v)
	}
	skipped(query, source.Result{Skipped: t.skipped})
}

// tallyMirror computes the snapshot from every row of the mirror.
func (p *Poller) tallyMirror(now time.Time) *tally.Snapshot {
	if p.db == source.CRM {
		m := p.crm
		t := tally.NewCRM(p.cfg, p.folder, now)
		if p.touches != nil {
			t.UseTouches(p.touches())
		}
		feed(m.owners, source.QueryOwners, t.Owner, t.Skipped) // owners first: leads look their team up
		feed(m.leads, source.QueryLeads, t.Lead, t.Skipped)    // leads before what refers to them
		feed(m.activities, source.QueryActivities, t.Activity, t.Skipped)
		feed(m.opps, source.QueryOpportunities, t.Opportunity, t.Skipped)
		return t.Finish()
	}
	m := p.camp
	t := tally.NewCampaigns(p.cfg, p.folder)
	feed(m.campaigns, source.QueryCampaigns, t.Campaign, t.Skipped)
	feed(m.stats, source.QueryCampaignStats, t.Stat, t.Skipped)
	feed(m.touches, source.QueryTouchpoints, t.Touchpoint, t.Skipped)
	return t.Finish()
}
