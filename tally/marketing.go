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

// marketingFacts is what a lead's marketing touches say about it, all that its numbers need of
// them: the campaign that produced it, and, for a lead with deals, every touch in time order
// (whether marketing influenced a deal depends on the deal's creation time, attribution on its
// close). A lead without deals keeps no touch: at a million leads, that is most of them.
type marketingFacts struct {
	producer    int64 // the campaign of the lead-creation touch: the last at or before creation
	hasProducer bool
	touches     []Touch // kept only for a lead with deals
}

// joinTouches sums up each lead's marketing touches (marketingFacts), for the leads fed as rows;
// a lead loaded from its facts has them already. Call once every row is in.
func (c *CRM) joinTouches() {
	if c.touches == nil {
		return
	}
	for id, l := range c.leads {
		if l.mkt == nil {
			c.joinBuf = touchesOf(c.touches, id, c.joinBuf[:0])
			l.mkt = summarizeTouches(c.joinBuf, l, c.arena)
		}
	}
}

// summarizeTouches makes a lead's marketingFacts from its touches in time order.
func summarizeTouches(ts []Touch, l *lead, a *factsArena) *marketingFacts {
	m := a.marketing()
	created := l.created.UnixNano()
	for _, t := range ts {
		if t.At > created {
			break
		}
		m.producer, m.hasProducer = t.Campaign, true
	}
	if l.opps > 0 && len(ts) > 0 {
		m.touches = a.touchList(len(ts))
		copy(m.touches, ts)
	}
	return m
}

// marketing adds what needs both databases: each campaign's cohort funnel and sales' rejections,
// revenue attribution, and marketing-sourced and -influenced revenue and pipeline; to gives the
// snapshot a lead's numbers go to.
func (c *CRM) marketing(to func(lead int64) *Snapshot) {
	x := c.touches
	if x != nil {
		for id, l := range c.leads {
			s := to(id)
			ref := c.producer(x, l)
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
func (c *CRM) producer(x Touches, l *lead) CampaignRef {
	if l.mkt == nil || !l.mkt.hasProducer {
		return CampaignRef{metrics.ValueUnknown, metrics.ValueUnknown}
	}
	return x.Ref(l.mkt.producer)
}

// attrBuf is what attribute splits a deal with, kept from deal to deal (a slice of each made for
// every deal under each model was a tenth of a cold start's allocations).
type attrBuf struct {
	times []time.Time
	w     []float64
	cents []int64
}

// leadTouches are the touches of a deal's lead (none without a known lead).
func (c *CRM) leadTouches(o opportunity) []Touch {
	if o.leadID == 0 {
		return nil
	}
	if l := c.leads[o.leadID]; l != nil && l.mkt != nil {
		return l.mkt.touches
	}
	return nil
}

// marketingRole decides whether marketing sourced and whether it influenced an opportunity.
func (c *CRM) marketingRole(x Touches, o opportunity) (sourced, influenced bool) {
	if o.leadID == 0 {
		return false, false
	}
	sourced = c.marketingSource(c.leads[o.leadID]) // set: a deal has a leadID only when its lead is known
	if x == nil {
		return sourced, false
	}
	for i, t := range c.leadTouches(o) {
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
func (c *CRM) attribute(s *Snapshot, x Touches, o opportunity, mask fiscal.Mask) {
	var created time.Time
	touches := c.leadTouches(o)
	if l, ok := c.leads[o.leadID]; ok && o.leadID != 0 {
		created = l.created
	}
	b := &c.attrBuf
	b.times = b.times[:0]
	for _, t := range touches {
		b.times = append(b.times, t.Time())
	}
	times := b.times
	n := attribution.Eligible(times, o.closed)
	deal := attribution.Deal{LeadCreated: created, OppCreated: o.created, Won: o.closed, HalfLife: c.cfg.Attribution.TimeDecayHalfLife}
	for _, m := range attribution.Models {
		b.w, _ = attribution.AppendWeights(b.w[:0], m, times[:n], deal) // models and half-life are valid by construction
		if len(b.w) == 0 {
			c.in(s, mask, metrics.AttributedRevenue, int64(o.amount), string(m), metrics.ValueUnattributed, metrics.ValueUnattributed)
			continue
		}
		b.cents = attribution.AppendSplit(b.cents[:0], int64(o.amount), b.w)
		for i, cents := range b.cents {
			if cents == 0 {
				continue // a share too small for a cent
			}
			ref := x.Ref(touches[i].Campaign)
			c.in(s, mask, metrics.AttributedRevenue, cents, string(m), ref.Channel, ref.Label)
		}
	}
}
