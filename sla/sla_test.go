package sla

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func weekdays(open, close time.Duration, loc *time.Location, holidays ...Date) *Calendar {
	c := &Calendar{Location: loc, Open: open, Close: close, Holidays: map[Date]bool{}}
	for d := time.Monday; d <= time.Friday; d++ {
		c.Days[d] = true
	}
	for _, h := range holidays {
		c.Holidays[h] = true
	}
	return c
}

func TestBetweenAndDue(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	nine2five := weekdays(9*time.Hour, 17*time.Hour, ny)
	christmas := weekdays(9*time.Hour, 17*time.Hour, ny, Date{2026, 12, 25})
	berlinCal := weekdays(9*time.Hour, 17*time.Hour, berlin)
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}

	cases := []struct {
		name     string
		cal      *Calendar
		from, to time.Time
		want     time.Duration
	}{
		{"calendar time without a calendar (63h: DST starts that Sunday)", nil, at(ny, 2026, 3, 6, 18, 0), at(ny, 2026, 3, 9, 10, 0), 63 * time.Hour},
		{"Friday 18:00 to Monday 10:00 is one business hour", nine2five, at(ny, 2026, 3, 6, 18, 0), at(ny, 2026, 3, 9, 10, 0), time.Hour},
		{"inside one day", nine2five, at(ny, 2026, 3, 4, 10, 15), at(ny, 2026, 3, 4, 11, 0), 45 * time.Minute},
		{"arrival before opening counts from opening", nine2five, at(ny, 2026, 3, 4, 6, 0), at(ny, 2026, 3, 4, 9, 30), 30 * time.Minute},
		{"touch after closing counts to closing", nine2five, at(ny, 2026, 3, 4, 16, 0), at(ny, 2026, 3, 4, 20, 0), time.Hour},
		{"overnight", nine2five, at(ny, 2026, 3, 4, 16, 30), at(ny, 2026, 3, 5, 9, 30), time.Hour},
		{"a whole weekend is zero", nine2five, at(ny, 2026, 3, 7, 8, 0), at(ny, 2026, 3, 8, 20, 0), 0},
		{"a full week is 40 hours", nine2five, at(ny, 2026, 3, 2, 0, 0), at(ny, 2026, 3, 9, 0, 0), 40 * time.Hour},
		{"a holiday is not a business day", christmas, at(ny, 2026, 12, 24, 16, 0), at(ny, 2026, 12, 28, 10, 0), 2 * time.Hour},
		{"touch before the clock starts is zero", nine2five, at(ny, 2026, 3, 4, 11, 0), at(ny, 2026, 3, 4, 10, 0), 0},
		// US DST starts Sunday 8 March 2026: the office still opens at 09:00 local time.
		{"across spring-forward", nine2five, at(ny, 2026, 3, 6, 16, 0), at(ny, 2026, 3, 9, 10, 0), 2 * time.Hour},
		// EU DST ends Sunday 25 October 2026.
		{"across fall-back", berlinCal, at(berlin, 2026, 10, 23, 16, 0), at(berlin, 2026, 10, 26, 10, 0), 2 * time.Hour},
		// 14:00-16:00 UTC is 09:00-11:00 EST.
		{"instants in another zone are converted", nine2five, time.Date(2026, 3, 4, 14, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 16, 0, 0, 0, time.UTC), 2 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.cal.Between(c.from, c.to); got != c.want {
				t.Fatalf("Between = %v, want %v", got, c.want)
			}
			if c.want > 0 {
				// Due inverts Between: the deadline of the measured time is the later instant,
				// or, when the later instant falls outside business hours, the last business moment before it.
				due := c.cal.Due(c.from, c.want)
				if got := c.cal.Between(c.from, due); got != c.want {
					t.Fatalf("Between(from, Due) = %v, want %v (due %v)", got, c.want, due)
				}
				if due.After(c.to) {
					t.Fatalf("Due = %v, after %v", due, c.to)
				}
			}
		})
	}
}

func TestDueExamples(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	c := weekdays(9*time.Hour, 17*time.Hour, ny, Date{2026, 12, 25})
	cases := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"Friday evening lead is due Monday 10:00", time.Date(2026, 3, 6, 18, 0, 0, 0, ny), time.Hour, time.Date(2026, 3, 9, 10, 0, 0, 0, ny)},
		{"late afternoon rolls into the next morning", time.Date(2026, 3, 4, 16, 30, 0, 0, ny), time.Hour, time.Date(2026, 3, 5, 9, 30, 0, 0, ny)},
		{"Christmas Eve afternoon is due after the holiday", time.Date(2026, 12, 24, 16, 30, 0, 0, ny), time.Hour, time.Date(2026, 12, 28, 9, 30, 0, 0, ny)},
		{"nil calendar adds clock time", time.Date(2026, 3, 6, 18, 0, 0, 0, ny), time.Hour, time.Date(2026, 3, 6, 19, 0, 0, 0, ny)},
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			cal := c
			if x.name == "nil calendar adds clock time" {
				cal = nil
			}
			if got := cal.Due(x.start, x.d); !got.Equal(x.want) {
				t.Fatalf("Due = %v, want %v", got, x.want)
			}
		})
	}
}

func TestCalendarsFallBack(t *testing.T) {
	def := weekdays(9*time.Hour, 17*time.Hour, time.UTC)
	emea := weekdays(8*time.Hour, 16*time.Hour, mustLoc(t, "Europe/Berlin"))
	cs := &Calendars{Default: def, Regions: map[string]*Calendar{"emea": emea}}
	if cs.For(" EMEA ") != emea || cs.For("apac") != def || cs.For("") != def {
		t.Fatal("region lookup or default fallback wrong")
	}
	var none *Calendars
	if none.For("emea") != nil {
		t.Fatal("no calendars means calendar time")
	}
}

func TestParse(t *testing.T) {
	if o, c, err := ParseHours("08:30-17:45"); err != nil || o != 8*time.Hour+30*time.Minute || c != 17*time.Hour+45*time.Minute {
		t.Fatalf("ParseHours = %v %v %v", o, c, err)
	}
	if _, c, err := ParseHours("00:00-24:00"); err != nil || c != 24*time.Hour {
		t.Fatalf("24:00 = %v %v", c, err)
	}
	for _, bad := range []string{"9-5", "17:00-09:00", "09:00", "x-y"} {
		if _, _, err := ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted", bad)
		}
	}
	if d, err := ParseWeekday("Wed"); err != nil || d != time.Wednesday {
		t.Fatalf("ParseWeekday = %v %v", d, err)
	}
	if _, err := ParseDate("2026-02-30"); err == nil {
		t.Error("invalid date accepted")
	}
}
