package tally

import (
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/sla"
)

// The follow-up SLA as service desks count it: a lead's deadline is its clock start plus
// sla.target (in business hours of its owner's region when set). A qualifying touch by the
// deadline meets the SLA; a deadline that passes without one is a breach, dated at the
// deadline, and stays one whatever comes later. A lead that left the queue untouched before its
// deadline (disqualified, a deal created) was no longer owed a touch: neither. A clock start in
// the future has not started.

// outcome is what became of a lead's deadline, at now.
type outcome int

const (
	noOutcome   outcome = iota // no deadline (no clock, never due), or left the queue before it
	metSLA                     // touched by the deadline, for good
	breachedSLA                // the deadline passed without a touch, for good
	pendingSLA                 // the deadline is still to come and nothing decided it: depends on the clock
)

// deadline is the lead's SLA clock start and deadline; ok is false while the clock has not
// started (no stage timestamp, or one still in the future). A zero deadline never comes (a
// business calendar without a working day).
func (c *CRM) deadline(l *lead) (start, due time.Time, ok bool) {
	start = c.clockStart(l)
	if start.IsZero() || start.After(c.now) {
		return start, time.Time{}, false
	}
	return start, l.cal.Due(start, c.cfg.SLA.Target), true
}

func (c *CRM) slaOutcome(l *lead, due time.Time) outcome {
	if due.IsZero() {
		return noOutcome
	}
	if !l.firstTouch.IsZero() && !l.firstTouch.After(due) {
		return metSLA
	}
	if e := l.exit(); !e.IsZero() && !e.After(due) {
		return noOutcome // left the queue untouched before it was due
	}
	if l.firstTouch.IsZero() && l.exit().IsZero() && c.terminalStatus(l) {
		return noOutcome // in a terminal stage, at a time the CRM does not say
	}
	if !l.firstTouch.IsZero() || c.now.After(due) {
		return breachedSLA
	}
	return pendingSLA
}

// waits reports whether a lead whose clock has started still waits for its first touch: no
// qualifying touch, not disqualified, no deal, not in a terminal stage.
func (c *CRM) waits(l *lead) bool {
	return l.firstTouch.IsZero() && l.exit().IsZero() && !c.terminalStatus(l)
}

// attempts is the outcome of the attempts rule for a lead, at c.now.
type attempts int

const (
	attemptsNone   attempts = iota // no rule, or no clock start
	attemptsMet                    // for good
	attemptsMissed                 // for good
	attemptsOpen                   // the window is still open: depends on the clock
)

func (c *CRM) attemptsState(l *lead) (attempts, time.Time) {
	at := c.cfg.SLA.Attempts
	start, _, started := c.deadline(l)
	if at == nil || !started {
		return attemptsNone, time.Time{}
	}
	end := start.Add(at.Within)
	switch {
	case l.attempts >= at.Count:
		return attemptsMet, end
	case c.now.Before(end):
		return attemptsOpen, end
	}
	return attemptsMissed, end
}

// Waiter is a lead waiting for its first touch: its follow-up numbers move with the clock (SLA
// time waited, within or past the deadline, a breach once the deadline passes, abandoned after
// sla.waiting_max_age) while its rows do not. The live tally evaluates it at every poll instead of
// tallying the lead again.
type Waiter struct {
	sales      []string // published sales dimension values
	start, due time.Time
	cal        *sla.Calendar
}

// abandoned reports whether the lead has waited longer than sla.waiting_max_age at now.
func (w Waiter) abandoned(cfg *config.Config, now time.Time) bool {
	return cfg.SLA.WaitingMaxAge > 0 && now.Sub(w.start) > cfg.SLA.WaitingMaxAge
}

// Settled reports whether nothing about the lead moves with the clock any more: abandoned, and
// its deadline passed (or never comes). Its numbers can then join the stable sums for good.
func (w Waiter) Settled(cfg *config.Config, now time.Time) bool {
	return w.abandoned(cfg, now) && (w.due.IsZero() || now.After(w.due))
}

// Add adds the lead's follow-up numbers at now: the breach in the windows of its deadline once
// that has passed; then abandoned, or waiting within or past the deadline, with the SLA time
// waited, and among the recent breaches the page is for.
func (w Waiter) Add(s *Snapshot, cfg *config.Config, now time.Time, spans fiscal.Spans) {
	over := !w.due.IsZero() && now.After(w.due)
	if over {
		inWindows(s, spans, spans.Of(w.due), metrics.FollowupBreached, 1, 1, w.sales)
	}
	if w.abandoned(cfg, now) {
		s.add(metrics.FollowupAbandoned, 1, w.sales...)
		return
	}
	wait := w.cal.Between(w.start, now).Seconds()
	status := metrics.SLAWithin
	if over {
		status = metrics.SLAOver
	}
	s.add(metrics.FollowupWaiting, 1, append([]string{status}, w.sales...)...)
	s.max(metrics.FollowupOldestWait, wait, w.sales...)
	if over && now.Sub(w.due) <= cfg.SLA.PageWindow {
		s.add(metrics.RecentlyBreached, 1, w.sales...)
		s.max(metrics.RecentlyBreachedOldest, wait, w.sales...)
	}
}

// Waiters returns the leads that wait for their first touch and depend on the clock for nothing
// else, after finishRows: their follow-up numbers are not in its snapshots.
func (c *CRM) Waiters() map[int64]Waiter { return c.waiters }

// ArrivalWindow is how far back a lead's arrival still moves tandem_marketing_leads_arrived: the
// same hour one week earlier.
const ArrivalWindow = 7*24*time.Hour + time.Hour

// Arrival is a recent lead from a marketing source: it counts in the inflow windows (the last
// hour, the same hour a week earlier) as the clock moves over it.
type Arrival struct {
	lead    []string // published source and sales dimension values
	created time.Time
}

// Gone reports whether the arrival is older than every window at now, for good.
func (a Arrival) Gone(now time.Time) bool { return !a.created.After(now.Add(-ArrivalWindow)) }

// Add adds the arrival to the inflow window it falls in at now: (now-1h, now] or the same hour
// a week earlier.
func (a Arrival) Add(s *Snapshot, now time.Time) {
	for _, w := range []struct {
		name string
		end  time.Time
	}{{metrics.WindowLastHour, now}, {metrics.WindowSameHourLastWeek, now.Add(-7 * 24 * time.Hour)}} {
		if a.created.After(w.end.Add(-time.Hour)) && !a.created.After(w.end) {
			s.add(metrics.MarketingLeadsArrived, 1, append([]string{w.name}, a.lead...)...)
		}
	}
}

// Arrivals returns the recent marketing leads after finishRows.
func (c *CRM) Arrivals() map[int64]Arrival { return c.arrivals }
