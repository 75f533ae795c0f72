package tally

import (
	"math"
	"time"

	"github.com/tandem-oss/tandem/fiscal"
)

// When a day (week, month...) ends the windows move. What a lead put in a window whose period is
// still a window moves with it (yesterday is the day that was today: Snapshot.roll), so a lead's
// numbers change only if one of the timestamps its numbers were put in windows by falls in a new
// period, one that was no window before (today, after midnight; fiscal.Spans.Roll): in practice a
// deal expected to close today or a deadline due this morning, not the leads touched yesterday.
// The tally notes, for each lead, the latest of those timestamps at or before its instant and the
// earliest after it while it resolves their windows (CRM.of), so that no timestamp a number
// depends on can be left out; the live tally keeps the notes of its stable leads and recounts at
// a roll-over the leads whose notes reach into the new periods.

// reach is a lead's timestamps the windows were resolved for, as Unix seconds (every period
// bound is a whole second): the latest at or before the tally's instant, the earliest after it.
type reach struct{ past, ahead int64 }

// noReach is a lead with no timestamp in any window.
var noReach = reach{math.MinInt64, math.MaxInt64}

func (r *reach) note(t, now time.Time) {
	u := t.Unix()
	if t.After(now) {
		r.ahead = min(r.ahead, u)
	} else {
		r.past = max(r.past, u)
	}
}

// within reports whether one of the timestamps may fall in the new periods, [lo, hi), once the
// clock has moved forward from the instant they were noted at: a past one at or after lo (after
// the clock jumped, a new period can start before that instant), or one that was ahead before hi.
func (r reach) within(lo, hi int64) bool { return r.past >= lo || r.ahead < hi }

// of returns the windows t falls in, noting t as a timestamp of lead id (l, or nil for a deal's
// lead_id without a known lead).
func (c *CRM) of(id int64, l *lead, t time.Time) fiscal.Mask {
	c.note(id, l, t)
	return c.spans.Of(t)
}

// ofDate is of for a civil date (an expected close date), noted as its midnight in the company
// time zone: its day is in a window exactly when that instant is (fiscal.Period.ContainsDate).
func (c *CRM) ofDate(id int64, l *lead, d time.Time) fiscal.Mask {
	if !d.IsZero() {
		y, m, dd := d.Date()
		c.note(id, l, time.Date(y, m, dd, 0, 0, 0, 0, c.spans[0].Start.Location()))
	}
	return c.spans.OfDate(d)
}

// note notes t (unless zero) as a timestamp of lead id.
func (c *CRM) note(id int64, l *lead, t time.Time) {
	if t.IsZero() {
		return
	}
	if l != nil {
		l.reach.note(t, c.now)
		return
	}
	r := c.orphans[id]
	if r == nil {
		r = &reach{}
		*r = noReach
		c.orphans[id] = r
	}
	r.note(t, c.now)
}

// dealLead is the lead a deal counts with, nil without a known one.
func (c *CRM) dealLead(o opportunity) *lead {
	if o.leadID == 0 {
		return nil
	}
	return c.leads[o.leadID]
}
