package tally

import (
	"time"

	"github.com/tandem-oss/tandem/attribution"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// campaignStages are the stages a campaign's leads are counted in, cumulative: a lead counts in
// every stage it has reached.
var campaignStages = []funnel.Stage{funnel.Lead, funnel.MQL, funnel.SQL, funnel.Opportunity, funnel.Won}

// marketing adds what needs both databases: each campaign's cohort funnel and sales' rejections,
// revenue attribution, and marketing-sourced and -influenced revenue and pipeline; to gives the
// snapshot a lead's numbers go to.
func (c *CRM) marketing(to func(lead int64) *Snapshot) {
	x := c.touches
	if x != nil {
		for id, l := range c.leads {
			s := to(id)
			ref := c.producer(x, id, l.created)
			created := c.of(id, l, l.created)
			for _, st := range campaignStages {
				if !l.reached(st).IsZero() {
					c.in(s, created, metrics.CampaignLeads, 1, ref.Channel, ref.Label, string(st))
				}
			}
			if !l.disq.IsZero() {
				c.in(s, c.of(id, l, l.disq), metrics.CampaignDisqualified, 1, ref.Channel, ref.Label, c.folder.Value(metrics.LabelDisqualifiedReason, l.reason))
			}
		}
	}
	for _, o := range c.opps {
		if !o.isWon && o.isClosed {
			continue // lost: neither pipeline nor revenue
		}
		s := to(o.entity)
		sourced, influenced := c.marketingRole(x, o)
		won := c.of(o.entity, c.dealLead(o), o.closed) // a won deal without a close time is in no period
		credit := func(yes bool, revenue, pipeline string) {
			switch {
			case !yes:
			case o.isWon:
				c.in(s, won, revenue, int64(o.amount))
			default:
				s.add(pipeline, int64(o.amount))
			}
		}
		credit(sourced, metrics.SourcedRevenue, metrics.SourcedPipeline)
		credit(influenced, metrics.InfluencedRevenue, metrics.InfluencedPipeline)
		if x != nil && o.isWon && won != 0 {
			c.attribute(s, x, o, won)
		}
	}
}

// producer is the campaign that produced a lead: the campaign of its lead-creation touch (the
// last touch at or before its creation).
func (c *CRM) producer(x *TouchIndex, lead int64, created time.Time) CampaignRef {
	ts := x.Of(lead)
	n := 0
	for n < len(ts) && ts[n].At <= created.UnixNano() {
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
	sourced = c.marketingSource(c.leads[o.leadID]) // set: a deal has a leadID only when its lead is known
	if x == nil {
		return sourced, false
	}
	for i, t := range x.Of(o.leadID) {
		if t.At > o.created.UnixNano() {
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

// attribute spreads a won deal's amount over its lead's touches before the win, per model, in
// whole cents, into the windows of the win date.
func (c *CRM) attribute(s *Snapshot, x *TouchIndex, o opportunity, mask fiscal.Mask) {
	var (
		touches []Touch
		created time.Time
	)
	if l, ok := c.leads[o.leadID]; ok && o.leadID != 0 {
		touches = x.Of(o.leadID)
		created = l.created
	}
	times := make([]time.Time, len(touches))
	for i, t := range touches {
		times[i] = t.Time()
	}
	n := attribution.Eligible(times, o.closed)
	deal := attribution.Deal{LeadCreated: created, OppCreated: o.created, Won: o.closed, HalfLife: c.cfg.Attribution.TimeDecayHalfLife}
	for _, m := range attribution.Models {
		w, _ := attribution.Weights(m, times[:n], deal) // models and half-life are valid by construction
		if len(w) == 0 {
			c.in(s, mask, metrics.AttributedRevenue, int64(o.amount), string(m), metrics.ValueUnattributed, metrics.ValueUnattributed)
			continue
		}
		for i, cents := range attribution.Split(int64(o.amount), w) {
			if cents == 0 {
				continue // a share too small for a cent
			}
			ref := x.Ref(touches[i].Campaign)
			c.in(s, mask, metrics.AttributedRevenue, cents, string(m), ref.Channel, ref.Label)
		}
	}
}
