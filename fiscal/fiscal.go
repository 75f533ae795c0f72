// Package fiscal computes the fiscal periods the shared revenue target is set for, in the company
// time zone. A fiscal year is named after the calendar year in which it ends (the common
// convention: with a February start, FY2027 runs from 1 Feb 2026 to 31 Jan 2027); with a January
// start the fiscal year is the calendar year.
package fiscal

import (
	"fmt"
	"time"
)

// Kind is the length of a period; it is the value of the fiscal_period label.
type Kind string

const (
	Quarter Kind = "quarter"
	Year    Kind = "year"
)

// Kinds lists the period kinds the exporter publishes.
var Kinds = []Kind{Quarter, Year}

// Calendar knows where fiscal years start.
type Calendar struct {
	StartMonth time.Month
	Location   *time.Location
}

// Period is one fiscal quarter or year: [Start, End).
type Period struct {
	Kind       Kind
	Name       string // "FY2026" or "FY2026-Q3"
	Year       int    // fiscal year number
	Quarter    int    // 1..4, zero for a year
	Start, End time.Time
}

// Period returns the period of the given kind that contains t.
func (c Calendar) Period(k Kind, t time.Time) Period {
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	start := c.StartMonth
	if start < time.January || start > time.December {
		start = time.January
	}
	// Months since the fiscal year began, 0..11.
	offset := (int(t.Month()) - int(start) + 12) % 12
	fyStartYear := t.Year()
	if int(t.Month()) < int(start) {
		fyStartYear--
	}
	fyStart := time.Date(fyStartYear, start, 1, 0, 0, 0, 0, loc)
	fyNumber := fyStart.AddDate(0, 11, 0).Year() // the calendar year of the last month
	switch k {
	case Quarter:
		q := offset/3 + 1
		qs := fyStart.AddDate(0, (q-1)*3, 0)
		return Period{Kind: Quarter, Name: fmt.Sprintf("FY%d-Q%d", fyNumber, q), Year: fyNumber, Quarter: q, Start: qs, End: qs.AddDate(0, 3, 0)}
	default:
		return Period{Kind: Year, Name: fmt.Sprintf("FY%d", fyNumber), Year: fyNumber, Start: fyStart, End: fyStart.AddDate(1, 0, 0)}
	}
}

// Contains reports whether t falls in [Start, End).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.Start) && t.Before(p.End) }

// Length is the period's length (quarters differ by a few days, DST by an hour).
func (p Period) Length() time.Duration { return p.End.Sub(p.Start) }

// ElapsedRatio is the share of the period that has passed at now, in [0, 1]: the basis of pace
// (expected to date = target × elapsed ratio) and projection (won ÷ elapsed ratio).
func (p Period) ElapsedRatio(now time.Time) float64 {
	switch {
	case !now.After(p.Start):
		return 0
	case !now.Before(p.End):
		return 1
	}
	return float64(now.Sub(p.Start)) / float64(p.Length())
}
