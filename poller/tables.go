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

// tallyMirror computes the snapshot from every row of the mirror.
func (p *Poller) tallyMirror(now time.Time) *tally.Snapshot {
	skipped := func(t interface{ skippedCounts() map[string]int }) source.Result {
		return source.Result{Skipped: t.skippedCounts()}
	}
	switch p.db {
	case source.CRM:
		m := p.crm
		t := tally.NewCRM(p.cfg, p.folder, now)
		if p.touches != nil {
			t.UseTouches(p.touches())
		}
		for _, o := range m.owners.rows {
			t.Owner(o)
		}
		for _, l := range m.leads.rows {
			t.Lead(l)
		}
		for _, a := range m.activities.rows {
			t.Activity(a)
		}
		for _, o := range m.opps.rows {
			t.Opportunity(o)
		}
		t.Skipped(source.QueryOwners, skipped(m.owners))
		t.Skipped(source.QueryLeads, skipped(m.leads))
		t.Skipped(source.QueryActivities, skipped(m.activities))
		t.Skipped(source.QueryOpportunities, skipped(m.opps))
		return t.Finish()
	default:
		m := p.camp
		t := tally.NewCampaigns(p.cfg, p.folder)
		for _, c := range m.campaigns.rows {
			t.Campaign(c)
		}
		for _, s := range m.stats.rows {
			t.Stat(s)
		}
		for _, x := range m.touches.rows {
			t.Touchpoint(x)
		}
		t.Skipped(source.QueryCampaigns, skipped(m.campaigns))
		t.Skipped(source.QueryCampaignStats, skipped(m.stats))
		t.Skipped(source.QueryTouchpoints, skipped(m.touches))
		return t.Finish()
	}
}
