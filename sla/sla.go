// Package sla measures follow-up time the way a sales SLA is written: in business hours of the
// lead owner's region. A Calendar knows a region's time zone, working days, opening hours and
// holidays; a nil Calendar is calendar time (24/7), so "1 hour" means an hour of the clock.
//
// Example: with a 09:00–17:00 Monday–Friday calendar, a lead that qualifies Friday at 18:00 with a
// 1-business-hour SLA is due Monday at 10:00.
package sla

import (
	"fmt"
	"strings"
	"time"
)

// Calendar is one region's business hours.
type Calendar struct {
	Location    *time.Location
	Days        [7]bool       // indexed by time.Weekday
	Open, Close time.Duration // since local midnight, Open < Close
	Holidays    map[Date]bool
}

// Date is a civil date in the calendar's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("not a date (YYYY-MM-DD): %q", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// ParseHours reads "09:00-17:00".
func ParseHours(s string) (open, close time.Duration, err error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("opening hours must look like 09:00-17:00, not %q", s)
	}
	var out [2]time.Duration
	for i, p := range parts {
		t, err := time.Parse("15:04", strings.TrimSpace(p))
		if err != nil {
			if strings.TrimSpace(p) == "24:00" && i == 1 {
				out[i] = 24 * time.Hour
				continue
			}
			return 0, 0, fmt.Errorf("opening hours must look like 09:00-17:00, not %q", s)
		}
		out[i] = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	if out[0] >= out[1] {
		return 0, 0, fmt.Errorf("opening hours must open before they close, not %q", s)
	}
	return out[0], out[1], nil
}

// ParseWeekday reads mon, tue, ... (or full names).
func ParseWeekday(s string) (time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || (len(s) == 3 && s == name[:3]) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("not a weekday: %q", s)
}

// window returns the business window of the local day starting at midnight, if it is a working day.
func (c *Calendar) window(y int, m time.Month, d int) (time.Time, time.Time, bool) {
	midnight := time.Date(y, m, d, 0, 0, 0, 0, c.Location)
	if !c.Days[midnight.Weekday()] || c.Holidays[Date{y, m, d}] {
		return time.Time{}, time.Time{}, false
	}
	// Wall-clock hours, so a DST switch moves the window with the clock as the office does.
	open := time.Date(y, m, d, int(c.Open/time.Hour), int(c.Open%time.Hour/time.Minute), 0, 0, c.Location)
	var closeAt time.Time
	if c.Close == 24*time.Hour {
		closeAt = time.Date(y, m, d+1, 0, 0, 0, 0, c.Location)
	} else {
		closeAt = time.Date(y, m, d, int(c.Close/time.Hour), int(c.Close%time.Hour/time.Minute), 0, 0, c.Location)
	}
	return open, closeAt, true
}

// Between is the business time from a to b; zero when b is not after a. A nil calendar counts
// every second.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c == nil {
		return b.Sub(a)
	}
	la := a.In(c.Location)
	y, m, d := la.Date()
	var total time.Duration
	for day := time.Date(y, m, d, 0, 0, 0, 0, c.Location); day.Before(b); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Location) {
		open, closeAt, ok := c.window(day.Year(), day.Month(), day.Day())
		if !ok {
			continue
		}
		from, to := later(open, a), earlier(closeAt, b)
		if to.After(from) {
			total += to.Sub(from)
		}
	}
	return total
}

// Due is the moment at which business time d has passed since start: the SLA deadline.
func (c *Calendar) Due(start time.Time, d time.Duration) time.Time {
	if c == nil {
		return start.Add(d)
	}
	if !c.hasWorkingDay() {
		return time.Time{} // never: no business hours at all
	}
	ls := start.In(c.Location)
	y, m, dd := ls.Date()
	left := d
	for day := time.Date(y, m, dd, 0, 0, 0, 0, c.Location); ; day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Location) {
		open, closeAt, ok := c.window(day.Year(), day.Month(), day.Day())
		if !ok {
			continue
		}
		from := later(open, start)
		if !closeAt.After(from) {
			continue
		}
		if avail := closeAt.Sub(from); avail >= left {
			return from.Add(left)
		} else {
			left -= avail
		}
	}
}

func (c *Calendar) hasWorkingDay() bool {
	for _, d := range c.Days {
		if d {
			return true
		}
	}
	return false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Calendars picks a calendar by region, falling back to the default; nil means calendar time.
type Calendars struct {
	Default *Calendar
	Regions map[string]*Calendar
}

// For returns the calendar of a region.
func (cs *Calendars) For(region string) *Calendar {
	if cs == nil {
		return nil
	}
	if c, ok := cs.Regions[strings.ToLower(strings.TrimSpace(region))]; ok {
		return c
	}
	return cs.Default
}
