// Package fiscal computes the calendar periods Tandem reports on, in the company time zone: days,
// ISO weeks (Monday to Sunday), months, and fiscal quarters and years. A fiscal year is named after
// the calendar year in which it ends (the common convention: with a February start, FY2027 runs
// from 1 Feb 2026 to 31 Jan 2027); with a January start the fiscal year is the calendar year.
//
// The windows (this quarter, last week, today...) are the periods people report on, relative to
// an instant; every business number Tandem publishes is one gauge per window, computed from the
// rows whose event timestamp falls in it.
package fiscal

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Kind is the length of a period.
type Kind string

const (
	Day     Kind = "day"
	Week    Kind = "week"
	Month   Kind = "month"
	Quarter Kind = "quarter"
	Year    Kind = "year"
)

// Kinds lists the period kinds, shortest first.
var Kinds = []Kind{Day, Week, Month, Quarter, Year}

// Calendar knows where fiscal years start, and the company time zone every period is cut in.
type Calendar struct {
	StartMonth time.Month
	Location   *time.Location
}

// Period is one day, week, month, fiscal quarter or fiscal year: [Start, End).
type Period struct {
	Kind       Kind
	Name       string // "2026-12-01", "2026-W49", "2026-12", "FY2026-Q3", "FY2026"
	Year       int    // fiscal year number (quarters and years)
	Quarter    int    // 1..4 for a quarter, else zero
	Start, End time.Time
}

func (c Calendar) loc() *time.Location {
	if c.Location == nil {
		return time.UTC
	}
	return c.Location
}

// Period returns the period of the given kind that contains t.
func (c Calendar) Period(k Kind, t time.Time) Period {
	loc := c.loc()
	t = t.In(loc)
	y, m, d := t.Date()
	switch k {
	case Day:
		s := time.Date(y, m, d, 0, 0, 0, 0, loc)
		return Period{Kind: Day, Name: s.Format("2006-01-02"), Start: s, End: time.Date(y, m, d+1, 0, 0, 0, 0, loc)}
	case Week:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		s := time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		iy, iw := s.ISOWeek()
		return Period{Kind: Week, Name: fmt.Sprintf("%d-W%02d", iy, iw), Start: s, End: time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)}
	case Month:
		s := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return Period{Kind: Month, Name: s.Format("2006-01"), Start: s, End: time.Date(y, m+1, 1, 0, 0, 0, 0, loc)}
	}
	start := c.StartMonth
	if start < time.January || start > time.December {
		start = time.January
	}
	// Months since the fiscal year began, 0..11.
	offset := (int(m) - int(start) + 12) % 12
	fyStartYear := y
	if int(m) < int(start) {
		fyStartYear--
	}
	fyStart := time.Date(fyStartYear, start, 1, 0, 0, 0, 0, loc)
	fyNumber := fyStart.AddDate(0, 11, 0).Year() // the calendar year of the last month
	if k == Quarter {
		q := offset/3 + 1
		qs := fyStart.AddDate(0, (q-1)*3, 0)
		return Period{Kind: Quarter, Name: fmt.Sprintf("FY%d-Q%d", fyNumber, q), Year: fyNumber, Quarter: q, Start: qs, End: qs.AddDate(0, 3, 0)}
	}
	return Period{Kind: Year, Name: fmt.Sprintf("FY%d", fyNumber), Year: fyNumber, Start: fyStart, End: fyStart.AddDate(1, 0, 0)}
}

// Contains reports whether t falls in [Start, End).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// ContainsDate reports whether a civil date (a stat day, an expected close date: the year,
// month and day of d, whatever its zone) falls in the period, whose bounds are local midnights.
func (p Period) ContainsDate(d time.Time) bool {
	y, m, dd := d.Date()
	return p.Contains(time.Date(y, m, dd, 0, 0, 0, 0, p.Start.Location()))
}

// Length is the period's length (quarters differ by a few days, DST by an hour).
func (p Period) Length() time.Duration { return p.End.Sub(p.Start) }

// ElapsedRatio is the share of the period that has passed at now, in [0, 1]: the basis of pace
// (expected to date = target × elapsed ratio).
func (p Period) ElapsedRatio(now time.Time) float64 {
	switch {
	case !now.After(p.Start):
		return 0
	case !now.Before(p.End):
		return 1
	}
	return float64(now.Sub(p.Start)) / float64(p.Length())
}

// Window is a period named relative to an instant: the value of the period label.
type Window string

// The windows, current and previous of each kind.
const (
	Today       Window = "today"
	Yesterday   Window = "yesterday"
	ThisWeek    Window = "this_week"
	LastWeek    Window = "last_week"
	ThisMonth   Window = "this_month"
	LastMonth   Window = "last_month"
	ThisQuarter Window = "this_quarter"
	LastQuarter Window = "last_quarter"
	ThisYear    Window = "this_year"
	LastYear    Window = "last_year"
)

// windows lists every window: for each kind, the current period and the one before.
var windows = []struct {
	w        Window
	kind     Kind
	previous bool
	title    string
}{
	{Today, Day, false, "Today"}, {Yesterday, Day, true, "Yesterday"},
	{ThisWeek, Week, false, "This week"}, {LastWeek, Week, true, "Last week"},
	{ThisMonth, Month, false, "This month"}, {LastMonth, Month, true, "Last month"},
	{ThisQuarter, Quarter, false, "This fiscal quarter"}, {LastQuarter, Quarter, true, "Last fiscal quarter"},
	{ThisYear, Year, false, "This fiscal year"}, {LastYear, Year, true, "Last fiscal year"},
}

// Windows lists every window in order, shortest first, current before previous.
func Windows() []Window {
	out := make([]Window, len(windows))
	for i, w := range windows {
		out[i] = w.w
	}
	return out
}

// Title is a window's name for people ("This fiscal quarter").
func (w Window) Title() string {
	for _, x := range windows {
		if x.w == w {
			return x.title
		}
	}
	return string(w)
}

// Kind is the kind of period a window is.
func (w Window) Kind() Kind {
	for _, x := range windows {
		if x.w == w {
			return x.kind
		}
	}
	return ""
}

// Current reports whether the window is the period containing the instant (this_*, today).
func (w Window) Current() bool {
	for _, x := range windows {
		if x.w == w {
			return !x.previous
		}
	}
	return false
}

// Span is a window resolved at an instant.
type Span struct {
	Window Window
	Period
	// The period's bounds in Unix seconds and nanoseconds, set by Calendar.Spans: Of compares
	// them with one conversion of t, not two time.Time comparisons per span (a cold start asks
	// Of for some twenty million timestamps).
	startS, endS int64
	startN, endN int32
	resolved     bool
	// Every span's bounds in whole seconds (the earliest start, the latest end), and cuts, the
	// same in each span of a resolution (see spanCuts).
	anyS, anyE int64
	cuts       *spanCuts
}

// spanCuts is where a resolution's spans begin and end, in order, and which spans hold each
// stretch between two: Of finds a timestamp's spans by a binary search of a dozen bounds or so,
// not by comparing it with every span's two (a cold start asks Of for some twenty million
// timestamps, most of them in the last two years, which the spans cover).
type spanCuts struct {
	at   []int64 // every span's start and end, as nanoseconds since anyS seconds, sorted, each once
	mask []Mask  // mask[i]: the spans holding [at[i-1], at[i]); mask[0] and mask[len(at)] are none
}

// maxCutSpan is the widest a resolution's spans may reach for cuts (nanoseconds in an int64):
// wider ones are compared span by span.
const maxCutSpan = 200 * 365 * 24 * 3600

// newSpanCuts returns the cuts of resolved spans whose bounds are within [anyS, anyE] seconds.
func newSpanCuts(s Spans, anyS int64) *spanCuts {
	ns := func(sec int64, n int32) int64 { return (sec-anyS)*1e9 + int64(n) }
	c := &spanCuts{}
	for _, sp := range s {
		c.at = append(c.at, ns(sp.startS, sp.startN), ns(sp.endS, sp.endN))
	}
	slices.Sort(c.at)
	c.at = slices.Compact(c.at)
	c.mask = make([]Mask, len(c.at)+1)
	for i := 1; i < len(c.at); i++ {
		x := c.at[i-1] // the stretch [at[i-1], at[i]) is in a span exactly when its start is
		for j, sp := range s {
			if ns(sp.startS, sp.startN) <= x && x < ns(sp.endS, sp.endN) {
				c.mask[i] |= 1 << j
			}
		}
	}
	return c
}

// of is Of for a timestamp at ts seconds (within [anyS, anyE]) and tn nanoseconds.
func (c *spanCuts) of(ts int64, tn int32, anyS int64) Mask {
	x := (ts-anyS)*1e9 + int64(tn)
	lo, hi := 0, len(c.at) // the first cut after x
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.at[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return c.mask[lo]
}

// Spans are every window at one instant, in Windows order.
type Spans []Span

// Mask is a set of spans (bit i: Spans[i]).
type Mask uint16

// Spans resolves every window at now.
func (c Calendar) Spans(now time.Time) Spans {
	out := make(Spans, len(windows))
	for i, w := range windows {
		p := c.Period(w.kind, now)
		if w.previous {
			p = c.Period(w.kind, p.Start.Add(-time.Nanosecond))
		}
		out[i] = Span{Window: w.w, Period: p, startS: p.Start.Unix(), endS: p.End.Unix(),
			startN: int32(p.Start.Nanosecond()), endN: int32(p.End.Nanosecond()), resolved: true}
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, sp := range out {
		lo, hi = min(lo, sp.startS), max(hi, sp.endS)
	}
	var cuts *spanCuts
	if hi-lo <= maxCutSpan {
		cuts = newSpanCuts(out, lo)
	}
	for i := range out {
		out[i].anyS, out[i].anyE, out[i].cuts = lo, hi, cuts
	}
	return out
}

// Of returns the spans containing t; none for a zero t.
func (s Spans) Of(t time.Time) Mask {
	if t.IsZero() {
		return 0
	}
	ts, tn := t.Unix(), int32(t.Nanosecond())
	if len(s) > 0 && s[0].resolved {
		if ts < s[0].anyS || ts > s[0].anyE {
			return 0 // before every window or after every one
		}
		if c := s[0].cuts; c != nil {
			return c.of(ts, tn, s[0].anyS)
		}
	}
	var m Mask
	for i := range s {
		sp := &s[i]
		in := false
		if sp.resolved {
			in = (ts > sp.startS || ts == sp.startS && tn >= sp.startN) && (ts < sp.endS || ts == sp.endS && tn < sp.endN)
		} else {
			in = sp.Contains(t)
		}
		if in {
			m |= 1 << i
		}
	}
	return m
}

// OfDate returns the spans containing a civil date (see Period.ContainsDate).
func (s Spans) OfDate(d time.Time) Mask {
	if d.IsZero() {
		return 0
	}
	var m Mask
	for i := range s {
		if s[i].ContainsDate(d) {
			m |= 1 << i
		}
	}
	return m
}

// Current is the mask of the current windows (today, this week, ...).
func (s Spans) Current() Mask {
	var m Mask
	for i := range s {
		if s[i].Window.Current() {
			m |= 1 << i
		}
	}
	return m
}

// Each calls fn with the index of every span in the mask.
func (m Mask) Each(fn func(i int)) {
	for i := 0; m != 0; i++ {
		if m&1 != 0 {
			fn(i)
		}
		m >>= 1
	}
}

// Equal reports whether two resolutions cover the same periods (the windows did not roll over).
func (s Spans) Equal(o Spans) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i].Window != o[i].Window || !s[i].Start.Equal(o[i].Start) || !s[i].End.Equal(o[i].End) {
			return false
		}
	}
	return true
}

// Roll maps the windows of a later resolution o onto s's, for a tally that keeps numbers put in
// s's windows and moves them to o's instead of counting every row again: from[j] is the window of
// s whose period o's window j is (at midnight, yesterday is the day that was today; on a Monday,
// last week is the week that was this week), -1 for a period that was no window of s. A
// timestamp is in window j of o exactly when it was in window from[j] of s, so what s's windows
// held moves over whole; the windows of s that no window of o maps to are dropped.
//
// fresh runs from the earliest start to the latest end of the periods of o that were no window
// of s (today after midnight, this week on a Monday): only a timestamp inside it can be in a
// window that holds nothing moved over. ok is false when every window of o was one of s (the
// clock did not leave a period).
func (s Spans) Roll(o Spans) (from []int, fresh Period, ok bool) {
	if len(s) != len(o) {
		panic("fiscal: Roll between resolutions of different windows")
	}
	from = make([]int, len(o))
	for j := range o {
		from[j] = -1
		for i := range s {
			if s[i].Start.Equal(o[j].Start) && s[i].End.Equal(o[j].End) {
				from[j] = i
				break
			}
		}
		if from[j] >= 0 {
			continue
		}
		if !ok || o[j].Start.Before(fresh.Start) {
			fresh.Start = o[j].Start
		}
		if !ok || o[j].End.After(fresh.End) {
			fresh.End = o[j].End
		}
		ok = true
	}
	return from, fresh, ok
}

// Earliest is the earliest instant any window starts at: every window at a later instant starts
// at or after it, so a timestamp before it stays in no window as time goes forward.
func (s Spans) Earliest() time.Time {
	var e time.Time
	for i, sp := range s {
		if i == 0 || sp.Start.Before(e) {
			e = sp.Start
		}
	}
	return e
}
