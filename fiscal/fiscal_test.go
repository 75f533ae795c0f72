package fiscal

import (
	"testing"
	"time"
)

func TestPeriod(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cal        Calendar
		at         time.Time
		kind       Kind
		want       string
		start, end time.Time
	}{
		{"calendar year", Calendar{time.January, time.UTC}, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Year, "FY2026",
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"calendar Q4", Calendar{time.January, time.UTC}, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Quarter, "FY2026-Q4",
			time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"february start names the year it ends", Calendar{time.February, time.UTC}, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Year, "FY2027",
			time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"january before a february start", Calendar{time.February, time.UTC}, time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC), Quarter, "FY2026-Q4",
			time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"july start Q1", Calendar{time.July, time.UTC}, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Quarter, "FY2027-Q1",
			time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
		{"company time zone decides the day", Calendar{time.January, berlin}, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), Year, "FY2026",
			time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 1, 1, 0, 0, 0, 0, berlin)},
		{"a day in the company time zone", Calendar{time.January, berlin}, time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), Day, "2026-01-01",
			time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2026, 1, 2, 0, 0, 0, 0, berlin)},
		{"a DST day has 23 hours", Calendar{time.January, berlin}, time.Date(2026, 3, 29, 12, 0, 0, 0, berlin), Day, "2026-03-29",
			time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), time.Date(2026, 3, 30, 0, 0, 0, 0, berlin)},
		{"an ISO week starts on Monday", Calendar{time.January, time.UTC}, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Week, "2026-W49",
			time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)},
		{"Sunday ends the week; its ISO year can be the next", Calendar{time.January, time.UTC}, time.Date(2027, 1, 3, 23, 0, 0, 0, time.UTC), Week, "2026-W53",
			time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)},
		{"a month", Calendar{time.January, time.UTC}, time.Date(2028, 2, 29, 23, 59, 59, 0, time.UTC), Month, "2028-02",
			time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.cal.Period(c.kind, c.at)
			if p.Name != c.want || !p.Start.Equal(c.start) || !p.End.Equal(c.end) {
				t.Fatalf("got %s [%s, %s), want %s [%s, %s)", p.Name, p.Start, p.End, c.want, c.start, c.end)
			}
			if !p.Contains(c.at) {
				t.Fatalf("%s does not contain %s", p.Name, c.at)
			}
		})
	}
}

func TestElapsedRatio(t *testing.T) {
	p := Calendar{time.January, time.UTC}.Period(Year, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	cases := []struct {
		at   time.Time
		want float64
	}{
		{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(365 * 24 * time.Hour / 2), 0.5},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 1},
	}
	for _, c := range cases {
		if got := p.ElapsedRatio(c.at); got != c.want {
			t.Errorf("ElapsedRatio(%s) = %v, want %v", c.at, got, c.want)
		}
	}
}

// Roll maps the windows across a roll-over: every timestamp is in a later window exactly when it
// was in the earlier window mapped to it, or else inside the fresh periods (checked hour by hour
// over three years around the roll-over, instants and dates), with exact fresh bounds at the
// common roll-overs and after the clock skipped weeks.
func TestRoll(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := func(y int, m time.Month, d int, loc *time.Location) time.Time {
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	cases := []struct {
		name     string
		cal      Calendar
		from, to time.Time
		fresh    bool
		lo, hi   time.Time
		moved    map[Window]Window // later window: the earlier one it was, besides itself
	}{
		{"same day", Calendar{time.January, time.UTC}, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC), false, time.Time{}, time.Time{}, nil},
		{"midnight: yesterday is today", Calendar{time.January, time.UTC}, time.Date(2026, 12, 1, 23, 59, 0, 0, time.UTC), day(2026, 12, 2, time.UTC), true,
			day(2026, 12, 2, time.UTC), day(2026, 12, 3, time.UTC), map[Window]Window{Yesterday: Today}},
		{"Monday: the weeks too", Calendar{time.January, time.UTC}, time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC), true,
			day(2026, 12, 7, time.UTC), day(2026, 12, 14, time.UTC), map[Window]Window{Yesterday: Today, LastWeek: ThisWeek}},
		{"a month's first day, mid-week", Calendar{time.January, time.UTC}, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), true,
			day(2026, 12, 1, time.UTC), day(2027, 1, 1, time.UTC), map[Window]Window{Yesterday: Today, LastMonth: ThisMonth}},
		{"a fiscal year's first day", Calendar{time.February, berlin}, time.Date(2027, 1, 31, 23, 0, 0, 0, berlin), time.Date(2027, 2, 1, 0, 30, 0, 0, berlin), true,
			day(2027, 2, 1, berlin), day(2028, 2, 1, berlin), map[Window]Window{Yesterday: Today, LastWeek: ThisWeek, LastMonth: ThisMonth, LastQuarter: ThisQuarter, LastYear: ThisYear}},
		{"a DST night in the company zone", Calendar{time.January, berlin}, time.Date(2026, 3, 28, 23, 0, 0, 0, berlin), time.Date(2026, 3, 29, 3, 30, 0, 0, berlin), true,
			day(2026, 3, 29, berlin), day(2026, 3, 30, berlin), map[Window]Window{Yesterday: Today}},
		{"the clock skipped two weeks", Calendar{time.January, time.UTC}, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 16, 12, 0, 0, 0, time.UTC), true,
			day(2026, 12, 7, time.UTC), day(2026, 12, 21, time.UTC), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.cal.Spans(tc.from), tc.cal.Spans(tc.to)
			from, fresh, ok := a.Roll(b)
			if ok != tc.fresh {
				t.Fatalf("fresh = %v, want %v", ok, tc.fresh)
			}
			if ok && (!fresh.Start.Equal(tc.lo) || !fresh.End.Equal(tc.hi)) {
				t.Fatalf("fresh [%s, %s), want [%s, %s)", fresh.Start, fresh.End, tc.lo, tc.hi)
			}
			for j, i := range from {
				if i >= 0 && b[j].Window != a[i].Window && tc.moved[b[j].Window] != a[i].Window {
					t.Errorf("%s maps from %s", b[j].Window, a[i].Window)
				}
				if w, moved := tc.moved[b[j].Window]; moved && (i < 0 || a[i].Window != w) {
					t.Errorf("%s does not map from %s (%d)", b[j].Window, w, i)
				}
			}
			for x := tc.from.AddDate(-2, 0, 0); x.Before(tc.to.AddDate(1, 0, 0)); x = x.Add(time.Hour) {
				for j := range b {
					if i := from[j]; i >= 0 {
						if b[j].Contains(x) != a[i].Contains(x) || b[j].ContainsDate(x) != a[i].ContainsDate(x) {
							t.Fatalf("%s: in %s later %v, in %s before %v", x, b[j].Window, b[j].Contains(x), a[i].Window, a[i].Contains(x))
						}
					} else if (b[j].Contains(x) && !fresh.Contains(x)) || (b[j].ContainsDate(x) && !fresh.ContainsDate(x)) {
						t.Fatalf("%s is in the fresh %s but outside [%s, %s)", x, b[j].Window, fresh.Start, fresh.End)
					}
				}
			}
			if e := a.Earliest(); !e.Equal(a[len(a)-1].Start) {
				t.Errorf("earliest start %s, want last year's %s", e, a[len(a)-1].Start)
			}
		})
	}
}
