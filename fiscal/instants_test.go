package fiscal

import (
	"testing"
	"time"

	"github.com/tandem-oss/tandem/internal/instants"
)

// At every simulated instant, for fiscal years starting in any month: the period contains the
// instant, starts at local midnight on the first of a month, adjoins the periods before and after
// it, a quarter lies inside its year and is a quarter of it by name, and the elapsed share is in
// [0, 1] and grows with time.
func TestPeriodsAtInstants(t *testing.T) {
	for _, start := range []time.Month{time.January, time.February, time.April, time.July, time.October, time.December} {
		for _, in := range instants.All(time.Now(), start) {
			cal := Calendar{StartMonth: start, Location: in.Zone}
			for _, k := range Kinds {
				p := cal.Period(k, in.At)
				where := in.String() + " " + string(k) + " from " + start.String()
				if !p.Contains(in.At) {
					t.Errorf("%s: %s [%s, %s) does not contain the instant", where, p.Name, p.Start, p.End)
				}
				if l := p.Start.In(in.Zone); l.Day() != 1 || l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 {
					t.Errorf("%s: %s starts at %s, not at local midnight on the first", where, p.Name, l)
				}
				if next := cal.Period(k, p.End); !next.Start.Equal(p.End) || next.Name == p.Name {
					t.Errorf("%s: %s ends at %s, the next period %s starts at %s", where, p.Name, p.End, next.Name, next.Start)
				}
				if prev := cal.Period(k, p.Start.Add(-time.Nanosecond)); !prev.End.Equal(p.Start) {
					t.Errorf("%s: %s starts at %s, the previous one %s ends at %s", where, p.Name, p.Start, prev.Name, prev.End)
				}
				e := p.ElapsedRatio(in.At)
				if e < 0 || e > 1 || p.ElapsedRatio(in.At.Add(time.Hour)) < e {
					t.Errorf("%s: elapsed %v", where, e)
				}
			}
			q, y := cal.Period(Quarter, in.At), cal.Period(Year, in.At)
			if q.Start.Before(y.Start) || q.End.After(y.End) || q.Year != y.Year || q.Name[:len(y.Name)] != y.Name {
				t.Errorf("%s: quarter %s [%s, %s) not inside year %s [%s, %s)", in, q.Name, q.Start, q.End, y.Name, y.Start, y.End)
			}
			if months := (int(q.Start.Month()) - int(start) + 12) % 12; months/3+1 != q.Quarter {
				t.Errorf("%s: %s starts %d months into the fiscal year", in, q.Name, months)
			}
		}
	}
}
