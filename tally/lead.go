package tally

import (
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/sla"
)

// lead is what the tally keeps of a lead while it runs: its own row, and what its activities
// and deals say about it.
type lead struct {
	raw        []string // raw dimension values, in cfg.Dims order
	created    time.Time
	mql, sql   time.Time
	disq       time.Time
	reason     string
	status     string
	source     string // its own label values, cleaned (see clean): source also decides marketing-sourced
	region     string
	segment    string
	owner      int64     // owner_id: the sales team, owner name and SLA calendar are the owner's (place)
	firstTouch time.Time // first qualifying touch at or after the clock start
	firstAny   time.Time // first qualifying touch at or after creation (speed to lead)
	attempts   int       // qualifying touches within sla.attempts.within of the clock start
	cal        *sla.Calendar
	touches    []kindCount // sales activities by kind and the windows they fall in
	// From its deals.
	opps, won, lost, open int
	firstOpp              time.Time       // created time of its first deal
	firstWon              time.Time       // close time of its first won deal that has one
	lastLost              time.Time       // close time of its last lost deal
	reach                 reach           // its timestamps the windows were resolved for
	mkt                   *marketingFacts // what its marketing touches say (nil without a campaign database)
	// digest is CRM.digests' entry for the lead, while its rows are fed (nil for a lead loaded
	// from its facts): looked up once for its row rather than once more for its activities.
	digest *Digest
}

type kindCount struct {
	kind string
	in   fiscal.Mask
	n    int64
}

func (l *lead) touch(kind string, in fiscal.Mask) {
	for i := range l.touches {
		if l.touches[i].kind == kind && l.touches[i].in == in {
			l.touches[i].n++
			return
		}
	}
	l.touches = append(l.touches, kindCount{kind, in, 1})
}

// qualifyingTouch records a touch of a kind that counts as follow-up.
func (l *lead) qualifyingTouch(at, clockStart time.Time, attempts *config.Attempts) {
	if l.firstAny.IsZero() || at.Before(l.firstAny) {
		l.firstAny = at
	}
	if clockStart.IsZero() || at.Before(clockStart) {
		return // a touch before the clock starts is not follow-up
	}
	if l.firstTouch.IsZero() || at.Before(l.firstTouch) {
		l.firstTouch = at
	}
	if attempts != nil && !at.After(clockStart.Add(attempts.Within)) {
		l.attempts++
	}
}

type opportunity struct {
	entity   int64    // its lead_id as in the row: whose numbers it counts in (see LiveCRM)
	leadID   int64    // 0 without a known lead
	raw      []string // raw dimensions of its lead (all "unknown" without one)
	amount   money.Cents
	stage    string
	created  time.Time
	expected time.Time
	closed   time.Time
	isClosed bool
	isWon    bool
}

// deal records one of the lead's opportunities.
func (l *lead) deal(o opportunity) {
	l.opps++
	earliest(&l.firstOpp, o.created)
	switch {
	case o.isWon:
		l.won++
		earliest(&l.firstWon, o.closed)
	case o.isClosed:
		l.lost++
		if o.closed.After(l.lastLost) {
			l.lastLost = o.closed
		}
	default:
		l.open++
	}
}

func earliest(t *time.Time, v time.Time) {
	if !v.IsZero() && (t.IsZero() || v.Before(*t)) {
		*t = v
	}
}

// entered is when the lead entered a funnel stage, by the stage's own timestamp (see
// funnel.Stages); zero if it has not.
func (l *lead) entered(s funnel.Stage) time.Time {
	switch s {
	case funnel.Lead:
		return l.created
	case funnel.MQL:
		return l.mql
	case funnel.SQL:
		return l.sql
	case funnel.Opportunity:
		return l.firstOpp
	case funnel.Won:
		return l.firstWon
	case funnel.Lost:
		if l.won == 0 && l.open == 0 {
			return l.lastLost // lost once no deal is left open or won
		}
	case funnel.Disqualified:
		return l.disq
	}
	return time.Time{}
}

// reached is when the lead reached a stage of the path: the earliest time it entered that stage
// or any later one (a lead that went from MQL straight to a deal did pass SQL). Zero if it has
// not; a lead reaches "lead" when it is created.
func (l *lead) reached(s funnel.Stage) time.Time {
	if s == funnel.Lead {
		return l.created
	}
	var t time.Time
	for _, p := range funnel.Path[s.OnPath():] {
		earliest(&t, l.entered(p))
	}
	return t
}

// exit is when the lead left the follow-up queue without needing a touch any more: disqualified,
// or a deal created, whichever came first; zero if it has not.
func (l *lead) exit() time.Time {
	var t time.Time
	earliest(&t, l.disq)
	earliest(&t, l.firstOpp)
	return t
}

// currentStage is the lead's stage now: its opportunities decide once it has any, otherwise its
// CRM status through the status map.
func (c *CRM) currentStage(l *lead) (funnel.Stage, bool) {
	switch {
	case l.won > 0:
		return funnel.Won, true
	case l.open > 0:
		return funnel.Opportunity, true
	case l.lost > 0:
		return funnel.Lost, true
	}
	st := c.statuses.get(l.status, c.stageOf)
	return st.stage, st.ok
}

// mappedStage is what a lead status maps to (config's status_map).
type mappedStage struct {
	stage funnel.Stage
	ok    bool
}

// stageOf maps a lead status (CRM.statuses caches it).
func (c *CRM) stageOf(status string) mappedStage {
	s, ok := c.cfg.StatusMap.Stage(status)
	return mappedStage{s, ok}
}

// clockStart is when the lead's SLA clock starts; zero if it has not.
func (c *CRM) clockStart(l *lead) time.Time {
	switch c.cfg.ClockFrom {
	case funnel.Lead:
		return l.created
	case funnel.SQL:
		return l.sql
	default:
		return l.mql
	}
}

// terminalStatus reports a lead whose CRM status maps to a terminal stage (won, lost,
// disqualified) without the timestamps that say when it got there.
func (c *CRM) terminalStatus(l *lead) bool {
	st := c.statuses.get(l.status, c.stageOf)
	return st.ok && st.stage.Terminal()
}
