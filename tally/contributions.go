package tally

import (
	"strings"

	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

// finishRows adds up what the rows fed in contribute: the leads whose numbers stay as they are
// until a row changes (or the periods roll over) into s, those that move with the clock
// (Volatile) into vs. Every number it adds is a sum over leads (deals and activities count with
// the lead_id they carry), so the numbers of a set of leads are the sum of each lead's: the live
// tally relies on it. Leads waiting for a first touch leave their follow-up numbers to their
// Waiter, recent marketing leads their inflow numbers to their Arrival.
func (c *CRM) finishRows() (s, vs *Snapshot) {
	if !c.admitted {
		admit(c.folder, c)
	}
	c.kindLabels = strMemo[string]{} // admitted since the last finish, a kind may no longer be "other"
	c.markVolatile()
	c.joinTouches()
	s, vs = c.snap, newSnapshot()
	to := func(lead int64) *Snapshot {
		if c.volatile[lead] {
			return vs
		}
		return s
	}
	for _, p := range c.problems {
		to(p.lead).Problems[p.Problem]++
	}
	if c.lines == nil { // else a full recount's worker's, kept from its last round
		c.lines = newLines(c.spans)
		defer func() { c.lines = nil }()
	}
	for id, l := range c.leads {
		c.leadNumbers(to(id), id, l)
	}
	for _, o := range c.opps {
		c.dealNumbers(to(o.entity), o)
	}
	c.marketing(to)
	c.lines.spread()
	return s, vs
}

// labelsOf is what a lead's raw dimension values publish as (CRM.labels, lines.tuple), folded
// once per distinct tuple of values while finishRows runs: for the lead's own numbers and for
// its deals' (a deal takes its lead's raw values).
func (c *CRM) labelsOf(raw []string) published {
	ls := c.lines
	if len(raw) > len(rawKey{}.p) {
		return c.labelsOfBytes(raw)
	}
	k := rawKey{n: int32(len(raw))}
	h := addressesOf(raw, k.p[:], k.l[:])
	return ls.recentRaw.get(k, h, func() published { return c.labelsOfBytes(raw) })
}

// kindLabel is what an activity kind publishes as (CRM.kindLabels caches it while finishRows
// runs, when admission no longer changes).
func (c *CRM) kindLabel(kind string) string { return c.folder.Value(metrics.LabelKind, kind) }

// labelsOfBytes is labelsOf by the raw values' bytes.
func (c *CRM) labelsOfBytes(raw []string) published {
	ls := c.lines
	ls.rb = appendKey(ls.rb[:0], raw)
	if p, ok := ls.byRaw[string(ls.rb)]; ok {
		return p
	}
	var p published
	p.sales, p.lead = c.labels(raw)
	p.st, p.lt = ls.tuple(p.sales), ls.tuple(p.lead)
	ls.byRaw[string(ls.rb)] = p
	return p
}

// leadNumbers adds one lead's own numbers: created, stage entries, cohorts, its current stage,
// its touches and its follow-up.
func (c *CRM) leadNumbers(s *Snapshot, id int64, l *lead) {
	pub := c.labelsOf(l.raw)
	sales, leadDims, st, lt := pub.sales, pub.lead, pub.st, pub.lt
	c.inLine(s, c.of(id, l, l.created), metrics.LeadsCreated, "", false, lt, 1, 1)
	for _, fs := range funnel.Stages {
		c.inLine(s, c.of(id, l, l.entered(fs.Stage)), metrics.FunnelStageEntered, string(fs.Stage), true, st, 1, 1)
	}
	if !l.disq.IsZero() {
		c.inLine(s, c.of(id, l, l.disq), metrics.LeadsDisqualified, c.folder.Value(metrics.LabelDisqualifiedReason, l.reason), true, c.lines.tuple(nil), 1, 1)
	}
	// Cohorts: the leads that reached the step's first stage in a window, those of them that
	// have reached its second by now, and how long that took them.
	for i, step := range funnel.Steps {
		from := l.reached(step.From)
		in := c.of(id, l, from)
		if in == 0 {
			continue
		}
		name := funnel.StepNames[i]
		c.inLine(s, in, metrics.CohortLeads, name, true, st, 1, 1)
		if to := l.reached(step.To); !to.IsZero() {
			c.inLine(s, in, metrics.CohortConverted, name, true, st, 1, 1)
			c.observeLine(s, in, metrics.FunnelVelocity, max(0, to.Sub(from).Seconds()), name, true, st)
		}
	}
	if cur, ok := c.currentStage(l); ok {
		c.addLine(s, metrics.Leads, string(cur), st, 1)
	} else {
		s.problem(source.QueryLeads, CheckUnknownStatus)
	}
	for _, t := range l.touches {
		c.inLine(s, t.in, metrics.SalesTouches, c.kindLabels.get(t.kind, c.kindLabel), true, st, t.n, t.n)
	}
	if !l.firstAny.IsZero() {
		c.observeLine(s, c.of(id, l, l.created), metrics.SpeedToLead, l.firstAny.Sub(l.created).Seconds(), "", false, st)
	}
	c.followUp(s, id, l, sales, st)
	if c.marketingSource(l) && !(Arrival{created: l.created}).Gone(c.now) {
		c.arrivals[id] = Arrival{lead: leadDims, created: l.created}
	}
}

// followUp adds a lead's SLA numbers: its time to first touch, its deadline's outcome, the
// attempts rule; a lead still waiting becomes a Waiter. st is the tuple of its sales labels.
func (c *CRM) followUp(s *Snapshot, id int64, l *lead, sales []string, st int32) {
	start, due, started := c.deadline(l)
	if !started {
		return
	}
	if !l.firstTouch.IsZero() {
		c.observeLine(s, c.of(id, l, start), metrics.FollowupTime, l.cal.Between(start, l.firstTouch).Seconds(), "", false, st)
	}
	switch state, end := c.attemptsState(l); state {
	case attemptsMet:
		c.inLine(s, c.of(id, l, end), metrics.AttemptsMet, "", false, st, 1, 1)
	case attemptsMissed:
		c.inLine(s, c.of(id, l, end), metrics.AttemptsMissed, "", false, st, 1, 1)
	}
	// A waiter's breach goes in the windows of its deadline, in the waiter's numbers (the live
	// tally's) or, once it settles, in the lead's.
	c.note(id, l, due)
	if c.waits(l) {
		w := Waiter{sales: sales, start: start, due: due, cal: l.cal}
		if c.waitOnly[id] {
			c.waiters[id] = w // the caller adds it (Waiter.Add)
		} else {
			w.Add(s, c.cfg, c.now, c.spans)
		}
		return
	}
	switch c.slaOutcome(l, due) {
	case metSLA:
		c.inLine(s, c.of(id, l, due), metrics.FollowupWithinSLA, "", false, st, 1, 1)
	case breachedSLA:
		c.inLine(s, c.of(id, l, due), metrics.FollowupBreached, "", false, st, 1, 1)
	}
}

// dealNumbers adds one opportunity's numbers: created, won or lost by their dates, open now, and
// the open pipeline expected to close in the current windows.
func (c *CRM) dealNumbers(s *Snapshot, o opportunity) {
	sales := c.labelsOf(o.raw).sales
	n := int64(o.amount)
	l := c.dealLead(o)
	created := c.of(o.entity, l, o.created)
	c.in(s, created, metrics.OpportunitiesCreated, 1, sales...)
	c.in(s, created, metrics.OpportunitiesCreatedAmt, n, sales...)
	closed := c.of(o.entity, l, o.closed)
	switch {
	case o.isWon:
		c.in(s, closed, metrics.OpportunitiesWon, 1, sales...)
		c.in(s, closed, metrics.OpportunitiesWonAmt, n, sales...)
		c.in(s, closed, metrics.RevenueWon, n)
	case o.isClosed:
		c.in(s, closed, metrics.OpportunitiesLost, 1, sales...)
		c.in(s, closed, metrics.OpportunitiesLostAmt, n, sales...)
	default:
		stage := c.folder.Value(metrics.LabelOpportunityStage, o.stage)
		s.add(metrics.OpportunitiesOpen, 1, append([]string{stage}, sales...)...)
		s.add(metrics.OpportunitiesOpenAmt, n, append([]string{stage}, sales...)...)
		expected := c.ofDate(o.entity, l, o.expected) & c.spans.Current()
		c.in(s, expected, metrics.PipelineOpen, n)
		p, _ := c.cfg.Probability.Of(o.stage, c.cfg.UnknownStage)
		c.in(s, expected, metrics.PipelineWeighted, p.Weigh(n))
	}
}

// markVolatile marks the leads whose numbers depend on the clock, besides those with rows
// dated in the future (marked as they were fed): a clock start still to come, an open attempts
// window.
//
// A lead that depends on the clock only because it waits for its first touch (the common case:
// thousands at a million leads) is not volatile: it becomes a Waiter, and its other numbers count
// as stable ones. Only the waiter is evaluated at every poll, which is far cheaper than tallying
// the lead. Recent marketing leads likewise leave only an Arrival to the clock.
func (c *CRM) markVolatile() {
	for id, l := range c.leads {
		start := c.clockStart(l)
		if !start.IsZero() && start.After(c.now) {
			c.dependsOnNow(id) // its clock starts later
		}
		if st, _ := c.attemptsState(l); st == attemptsOpen {
			c.dependsOnNow(id)
		}
	}
	for id, l := range c.leads {
		start, due, started := c.deadline(l)
		if started && !c.volatile[id] && c.waits(l) && !(Waiter{start: start, due: due}).Settled(c.cfg, c.now) {
			c.waitOnly[id] = true // a settled waiter's numbers are stable: they stay with the lead's
		}
	}
}

// marketingSource reports whether a lead came from a marketing channel: a known source that sales
// does not generate itself.
func (c *CRM) marketingSource(l *lead) bool {
	return l.source != metrics.ValueUnknown && l.source != "" && !c.salesSources.get(l.source, c.salesSource)
}

// salesSource reports a lead source that config's sales_sources names (case ignored).
func (c *CRM) salesSource(source string) bool { return c.cfg.SalesSource[strings.ToLower(source)] }
