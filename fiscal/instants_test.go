package fiscal

import (
	"math/rand"
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
				l := p.Start.In(in.Zone)
				if l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 {
					t.Errorf("%s: %s starts at %s, not at local midnight", where, p.Name, l)
				}
				switch {
				case k == Week && l.Weekday() != time.Monday:
					t.Errorf("%s: %s starts on a %s", where, p.Name, l.Weekday())
				case k != Day && k != Week && l.Day() != 1:
					t.Errorf("%s: %s starts on the %d of the month", where, p.Name, l.Day())
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

// At every instant the windows are what a person means by them: "today" and every current window
// contain the instant, each previous window ends exactly where its current one starts, every
// window has the kind its name says, and a day, a week or a month is never longer than a
// quarter, nor a quarter than a year.
func TestSpansAtInstants(t *testing.T) {
	for _, in := range instants.All(time.Now(), time.April) {
		cal := Calendar{StartMonth: time.April, Location: in.Zone}
		spans := cal.Spans(in.At)
		if len(spans) != len(Windows()) {
			t.Fatalf("%d spans for %d windows", len(spans), len(Windows()))
		}
		now := spans.Of(in.At)
		byWindow := map[Window]Span{}
		for i, s := range spans {
			byWindow[s.Window] = s
			if s.Window != Windows()[i] || s.Kind != s.Window.Kind() {
				t.Errorf("%s: span %d is %s of kind %s", in, i, s.Window, s.Kind)
			}
			if s.Window.Current() != (now&(1<<i) != 0) {
				t.Errorf("%s: %s [%s, %s) contains the instant: %v", in, s.Window, s.Start, s.End, now&(1<<i) != 0)
			}
		}
		for _, pair := range [][2]Window{{Today, Yesterday}, {ThisWeek, LastWeek}, {ThisMonth, LastMonth}, {ThisQuarter, LastQuarter}, {ThisYear, LastYear}} {
			cur, prev := byWindow[pair[0]], byWindow[pair[1]]
			if !prev.End.Equal(cur.Start) || !prev.Start.Before(prev.End) {
				t.Errorf("%s: %s [%s, %s) does not end where %s starts (%s)", in, pair[1], prev.Start, prev.End, pair[0], cur.Start)
			}
		}
		if byWindow[ThisQuarter].Length() > byWindow[ThisYear].Length() || byWindow[ThisMonth].Length() > byWindow[ThisQuarter].Length() ||
			byWindow[Today].Length() > byWindow[ThisWeek].Length() || byWindow[Today].Length() < 23*time.Hour || byWindow[Today].Length() > 25*time.Hour {
			t.Errorf("%s: lengths out of order: %v", in, spans)
		}
		// A civil date: the stat day of the instant's local date is in today's span.
		y, m, d := in.At.In(in.Zone).Date()
		if spans.OfDate(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))&1 == 0 {
			t.Errorf("%s: its local date is not in today", in)
		}
	}
}

// TestSpansOfAtBounds: Of (which finds a timestamp's stretch between the spans' bounds it
// resolved once) says of every timestamp what each span's Period.Contains says: at and around
// every bound, at random instants over the years the spans cover, far off, in other zones,
// before 1970 and at the ends of time.
func TestSpansOfAtBounds(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	far := []time.Time{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 0)}
	for _, in := range instants.All(time.Now(), time.April) {
		spans := Calendar{StartMonth: time.April, Location: in.Zone}.Spans(in.At)
		ts := append([]time.Time{in.At, in.At.In(time.UTC), in.At.Add(-time.Nanosecond)}, far...)
		for range 2000 {
			ts = append(ts, in.At.Add(time.Duration(r.Int63n(int64(3*366*24*time.Hour)))-2*366*24*time.Hour))
		}
		for _, s := range spans {
			for _, b := range []time.Time{s.Start, s.End} {
				for _, d := range []time.Duration{-time.Second, -time.Nanosecond, 0, time.Nanosecond, time.Second} {
					ts = append(ts, b.Add(d), b.Add(d).In(time.FixedZone("x", -7*3600-1800)))
				}
			}
		}
		for _, x := range ts {
			got := spans.Of(x)
			for i, s := range spans {
				if want := s.Contains(x); want != (got&(1<<i) != 0) {
					t.Errorf("%s: %s in %s [%s, %s): Of says %v, Contains %v", in, x, s.Window, s.Start, s.End, !want, want)
				}
			}
		}
	}
}
