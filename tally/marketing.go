package tally

import (
	"strings"
	"time"

	"github.com/tandem-oss/tandem/attribution"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// campaignStages are the stages counted per producing campaign.
var campaignStages = []funnel.Stage{funnel.Lead, funnel.MQL, funnel.SQL, funnel.Opportunity, funnel.Won}

// marketing adds what needs both databases: leads per producing campaign, sales' rejections per
// campaign, revenue attribution, and marketing-sourced and -influenced revenue and pipeline;
// to gives the snapshot a lead's numbers go to.
func (c *CRM) marketing(to func(lead int64) *Snapshot) {
	x := c.touches
	if x != nil {
		for id, l := range c.leads {
			s := to(id)
			ref := c.producer(x, id, l.created)
			src := c.folder.Value(metrics.DimSource, l.source)
			entered := map[funnel.Stage]bool{
				funnel.Lead: true, funnel.MQL: !l.mql.IsZero(), funnel.SQL: !l.sql.IsZero(),
				funnel.Opportunity: l.opps > 0, funnel.Won: l.won > 0,
			}
			for _, st := range campaignStages {
				if entered[st] {
					s.add(metrics.CampaignLeads, 1, ref.Channel, ref.Label, src, string(st))
				}
			}
			if !l.disq.IsZero() {
				s.add(metrics.CampaignDisqualified, 1, ref.Channel, ref.Label, src, c.folder.Value(metrics.LabelDisqualifiedReason, l.reason))
			}
		}
	}
	for _, o := range c.opps {
		if !o.isWon && o.isClosed {
			continue // lost: neither pipeline nor revenue
		}
		s := to(o.entity)
		sourced, influenced := c.marketingRole(x, o)
		credit := func(yes bool, revenue, pipeline string) {
			switch {
			case !yes:
			case o.isWon:
				s.add(revenue, int64(o.amount))
			default:
				s.add(pipeline, int64(o.amount))
			}
		}
		credit(sourced, metrics.SourcedRevenue, metrics.SourcedPipeline)
		credit(influenced, metrics.InfluencedRevenue, metrics.InfluencedPipeline)
		if x != nil && o.isWon {
			c.attribute(s, x, o)
		}
	}
}

// producer is the campaign that produced a lead: the campaign of its lead-creation touch (the
// last touch at or before its creation).
func (c *CRM) producer(x *TouchIndex, lead int64, created time.Time) CampaignRef {
	ts := x.ByLead[lead]
	n := 0
	for n < len(ts) && !ts[n].At.After(created) {
		n++
	}
	if n == 0 {
		return CampaignRef{metrics.ValueUnknown, metrics.ValueUnknown}
	}
	return x.Ref(ts[n-1].Campaign)
}

// marketingRole decides whether marketing sourced and whether it influenced an opportunity.
func (c *CRM) marketingRole(x *TouchIndex, o opportunity) (sourced, influenced bool) {
	if o.leadID == 0 {
		return false, false
	}
	src := c.leads[o.leadID].source // set: a deal has a leadID only when its lead is known
	sourced = src != metrics.ValueUnknown && src != "" && !c.cfg.SalesSource[strings.ToLower(src)]
	if x == nil {
		return sourced, false
	}
	for i, t := range x.ByLead[o.leadID] {
		if t.At.After(o.created) {
			break
		}
		if x.Known(t.Campaign) {
			influenced = true
			if i == 0 {
				sourced = true // the first touch is a campaign touch
			}
		}
	}
	return sourced, influenced
}

// attribute spreads a won deal's amount over its lead's touches before the win, per model.
func (c *CRM) attribute(s *Snapshot, x *TouchIndex, o opportunity) {
	amount := o.amount.Float()
	won := o.closed
	if won.IsZero() {
		won = c.now // the touches up to now count, and time decay weighs them from now (volatile)
	}
	var (
		touches []Touch
		created time.Time
	)
	if l, ok := c.leads[o.leadID]; ok && o.leadID != 0 {
		touches = x.ByLead[o.leadID]
		created = l.created
	}
	times := make([]time.Time, len(touches))
	for i, t := range touches {
		times[i] = t.At
	}
	n := attribution.Eligible(times, won)
	deal := attribution.Deal{LeadCreated: created, OppCreated: o.created, Won: won, HalfLife: c.cfg.Attribution.TimeDecayHalfLife}
	for _, m := range attribution.Models {
		w, _ := attribution.Weights(m, times[:n], deal) // models and half-life are valid by construction
		if len(w) == 0 {
			smp := s.sample(metrics.AttributedRevenue, []string{string(m), metrics.ValueUnattributed, metrics.ValueUnattributed})
			smp.F, smp.IsFloat = smp.F+amount, true
			continue
		}
		for i, wi := range w {
			if wi == 0 {
				continue
			}
			ref := x.Ref(touches[i].Campaign)
			smp := s.sample(metrics.AttributedRevenue, []string{string(m), ref.Channel, ref.Label})
			smp.F, smp.IsFloat = smp.F+amount*wi, true
		}
	}
}
