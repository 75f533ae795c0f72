package sla

import (
	"testing"
	"time"

	"github.com/tandem-oss/tandem/internal/instants"
)

// At every simulated instant (week ends, quarter ends, a leap day, DST days in both zones), the
// two clocks agree: the business time from a start to its deadline is the SLA target, the
// deadline falls inside business hours, and the business time up to any moment before it is
// less than the target. Starts at the instant itself and just around it are checked, for a
// 24/7 clock and for calendars in New York, Berlin and Tokyo.
func TestClocksAtInstants(t *testing.T) {
	ny, berlin, tokyo := mustLoc(t, "America/New_York"), mustLoc(t, "Europe/Berlin"), mustLoc(t, "Asia/Tokyo")
	sixDays := weekdays(10*time.Hour, 19*time.Hour, tokyo)
	sixDays.Days[time.Saturday] = true
	cals := map[string]*Calendar{
		"24/7":     nil,
		"new-york": weekdays(9*time.Hour, 17*time.Hour, ny, Date{2026, 12, 25}, Date{2027, 1, 1}),
		"berlin":   weekdays(8*time.Hour+30*time.Minute, 17*time.Hour+30*time.Minute, berlin, Date{2027, 10, 3}),
		"tokyo":    sixDays,
		"all-day":  {Location: ny, Days: [7]bool{true, true, true, true, true, true, true}, Open: 0, Close: 24 * time.Hour},
	}
	for _, in := range instants.All(time.Now(), time.January) {
		for name, cal := range cals {
			for _, start := range []time.Time{in.At, in.At.Add(-59 * time.Minute), in.At.Add(time.Second)} {
				for _, target := range []time.Duration{time.Minute, time.Hour, 8 * time.Hour, 26 * time.Hour} {
					due := cal.Due(start, target)
					if got := cal.Between(start, due); got != target {
						t.Errorf("%s %s: from %s, Between(start, Due(start, %s)) = %s", in, name, start, target, got)
					}
					if before := cal.Between(start, due.Add(-time.Second)); before >= target {
						t.Errorf("%s %s: from %s, %s of business time a second before the deadline %s", in, name, start, before, due)
					}
					if cal != nil && cal.Close < 24*time.Hour {
						l := due.In(cal.Location)
						since := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second
						if since <= cal.Open || since > cal.Close || !cal.Days[l.Weekday()] {
							t.Errorf("%s %s: from %s, the %s deadline %s falls outside business hours", in, name, start, target, l)
						}
					}
				}
			}
		}
	}
}
