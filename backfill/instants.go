package backfill

import (
	"fmt"
	"time"
)

// Plan is which past instants a backfill computes.
type Plan struct {
	Range      time.Duration // how far back: the oldest instant is no earlier than now - Range
	Step       time.Duration // spacing of the instants older than Recent
	Recent     time.Duration // the most recent span, computed every RecentStep
	RecentStep time.Duration
}

// DefaultPlan is 400 days (a year over year, and a quarter more), daily, and hourly over the
// last 35 days (the dashboards' "this week" and "this month" at a finer grain).
var DefaultPlan = Plan{Range: 400 * 24 * time.Hour, Step: 24 * time.Hour, Recent: 35 * 24 * time.Hour, RecentStep: time.Hour}

// maxRange is the longest --backfill.range: the stepper keeps event times as int32 seconds after
// the first instant (eventSecond).
const maxRange = 50 * 365 * 24 * time.Hour

// Validate names the flag that is wrong.
func (p Plan) Validate() error {
	switch {
	case p.Range <= 0:
		return fmt.Errorf("--backfill.range must be positive, not %s", p.Range)
	case p.Range > maxRange:
		return fmt.Errorf("--backfill.range must be at most 50 years (%s), not %s", maxRange, p.Range)
	case p.Step <= 0:
		return fmt.Errorf("--backfill.step must be positive, not %s", p.Step)
	case p.RecentStep <= 0:
		return fmt.Errorf("--backfill.recent-step must be positive, not %s", p.RecentStep)
	case p.Recent < 0:
		return fmt.Errorf("--backfill.recent must not be negative, not %s", p.Recent)
	}
	return nil
}

// Instants returns the plan's instants before end, oldest first: multiples of Step (Unix time)
// from end - Range up to end - Recent, then multiples of RecentStep, then the last whole second
// before end. Aligned instants make two runs' samples fall on the same timestamps; the last one
// joins the live scrapes, which begin at end, without a gap.
func (p Plan) Instants(end time.Time) []time.Time {
	var out []time.Time
	last := end.Add(-time.Nanosecond).Truncate(time.Second).UTC()
	oldest, recent := end.Add(-p.Range), end.Add(-min(p.Recent, p.Range))
	for t := ceil(oldest, p.Step); t.Before(recent) && t.Before(last); t = t.Add(p.Step) {
		out = append(out, t)
	}
	for t := ceil(recent, p.RecentStep); t.Before(last); t = t.Add(p.RecentStep) {
		if len(out) == 0 || t.After(out[len(out)-1]) {
			out = append(out, t)
		}
	}
	if !last.Before(oldest) && (len(out) == 0 || last.After(out[len(out)-1])) {
		out = append(out, last)
	}
	return out
}

// ceil is the first multiple of d (in Unix time) at or after t.
func ceil(t time.Time, d time.Duration) time.Time {
	r := t.Truncate(d)
	if r.Before(t) {
		r = r.Add(d)
	}
	return r.UTC()
}
