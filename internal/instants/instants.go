// Package instants gives the calendar-sensitive tests the moments they must pass at, and the
// clock that puts an exporter there. No test of Tandem's numbers may depend on today's date, the
// time of day or the weekday; the suites whose meaning depends on the calendar (the demo data
// and its panels, SLA clocks, fiscal periods, waiting and abandoned leads, event-time periods)
// run at each of these instants instead, in the company time zone of the instant.
package instants

import (
	"fmt"
	"time"
)

// Instant is one simulated moment.
type Instant struct {
	Name string
	// Zone is the company time zone of the run (targets.timezone): the instant is chosen in it.
	Zone *time.Location
	At   time.Time
}

// TimeZone is the instant's zone name, as targets.timezone takes it.
func (i Instant) TimeZone() string { return i.Zone.String() }

func (i Instant) String() string { return i.Name + "@" + i.At.In(i.Zone).Format(time.RFC3339) }

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("instants: time zone %s: %v", name, err))
	}
	return loc
}

// All returns the instants, computed from today (the real date: "one year and one day from
// today" is one of them) for a fiscal year that starts in fiscalStart:
//   - a Monday at 00:30 and a Friday at 23:30;
//   - the last second of a fiscal quarter and the first second of the next (a quarter that does
//     not end a fiscal year, so that it is not also the year end below);
//   - 29 February 2028;
//   - 31 December at 23:59;
//   - the days clocks change in America/New_York and in Europe/Berlin, both ways, just after the
//     change (the fall-back instant lies in the repeated hour);
//   - one year and one day from today.
func All(today time.Time, fiscalStart time.Month) []Instant {
	utc := time.UTC
	ny, berlin, tokyo := mustLoad("America/New_York"), mustLoad("Europe/Berlin"), mustLoad("Asia/Tokyo")
	base := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, utc)
	next := func(loc *time.Location, wd time.Weekday, h, m int) time.Time {
		d := time.Date(base.Year(), base.Month(), base.Day()+1, h, m, 0, 0, loc)
		for d.Weekday() != wd {
			d = time.Date(d.Year(), d.Month(), d.Day()+1, h, m, 0, 0, loc)
		}
		return d
	}
	qEnd := quarterEnd(base, fiscalStart, berlin)
	out := []Instant{
		{"monday-00:30", ny, next(ny, time.Monday, 0, 30)},
		{"friday-23:30", tokyo, next(tokyo, time.Friday, 23, 30)},
		{"quarter-last-second", berlin, qEnd.Add(-time.Second)},
		{"quarter-first-second", berlin, qEnd},
		{"leap-day", utc, time.Date(2028, 2, 29, 12, 0, 0, 0, utc)},
		{"new-years-eve-23:59", ny, time.Date(base.Year(), 12, 31, 23, 59, 0, 0, ny)},
		{"year-and-a-day", utc, time.Date(base.Year()+1, base.Month(), base.Day()+1, today.Hour(), today.Minute(), 0, 0, utc)},
	}
	for _, z := range []struct {
		name string
		loc  *time.Location
	}{{"new-york", ny}, {"berlin", berlin}} {
		spring, fall := dstChanges(base, z.loc)
		out = append(out,
			Instant{"dst-spring-" + z.name, z.loc, spring.Add(30 * time.Minute)},
			Instant{"dst-fall-" + z.name, z.loc, fall.Add(30 * time.Minute)})
	}
	return out
}

// quarterEnd is the first instant after the next fiscal quarter, counted from base, that does
// not also end a fiscal year.
func quarterEnd(base time.Time, fiscalStart time.Month, loc *time.Location) time.Time {
	if fiscalStart < time.January || fiscalStart > time.December {
		fiscalStart = time.January
	}
	for m := 1; m <= 15; m++ {
		t := time.Date(base.Year(), base.Month()+time.Month(m), 1, 0, 0, 0, 0, loc)
		off := (int(t.Month()) - int(fiscalStart) + 12) % 12
		if off%3 == 0 && off != 0 {
			return t
		}
	}
	panic("instants: no quarter end within 15 months")
}

// dstChanges returns the first moments after base at which loc's UTC offset grows (spring
// forward) and shrinks (fall back).
func dstChanges(base time.Time, loc *time.Location) (spring, fall time.Time) {
	t := base
	_, off := t.In(loc).Zone()
	for h := 0; h < 2*366*24 && (spring.IsZero() || fall.IsZero()); h++ {
		t = t.Add(time.Hour)
		_, o := t.In(loc).Zone()
		switch {
		case o > off && spring.IsZero():
			spring = t
		case o < off && fall.IsZero():
			fall = t
		}
		off = o
	}
	return spring, fall
}

// Clock returns a clock that reads start when it is made and runs on from there at real speed:
// an exporter given it lives at the simulated instant while Prometheus, on the real clock,
// scrapes it.
func Clock(start time.Time) func() time.Time {
	began := time.Now()
	return func() time.Time { return start.Add(time.Since(began)) }
}
