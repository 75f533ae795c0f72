package main

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/testdb"
)

// An hour of simulated traffic keeps the wall's pace realistic: the simulation wins no more than
// the suggested year target's pace allows for the hour, and the quarter's pace (won ÷ target ×
// elapsed share, as the wall computes it, here in SQL) stays within 100 % ± 30 %.
func TestSimulatedHourKeepsPace(t *testing.T) {
	ctx := context.Background()
	for _, start := range []time.Time{
		time.Date(2026, 11, 14, 10, 0, 0, 0, time.UTC), // mid-quarter
		time.Date(2027, 3, 20, 16, 0, 0, 0, time.UTC),  // late in a quarter
	} {
		t.Run(start.Format("2006-01-02"), func(t *testing.T) {
			url := testdb.New(t)
			db, err := sqlx.Open("postgres", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := demo.Load(ctx, db, db, demo.Options{Seed: 4, Leads: 20000, Now: start, Days: 400}, nil); err != nil {
				t.Fatal(err)
			}
			cal := demo.Calendar
			targets, err := demo.SuggestedTargets(ctx, db, start, cal)
			if err != nil {
				t.Fatal(err)
			}
			year := demo.YearTarget(targets, cal, start)
			sim, err := demo.NewSimulator(ctx, db, db, 4)
			if err != nil {
				t.Fatal(err)
			}
			sim.WinAtPace(year)
			end := start.Add(time.Hour)
			wins := 0
			for now := start; !now.After(end); now = now.Add(10 * time.Second) {
				c, err := sim.Step(ctx, now)
				if err != nil {
					t.Fatal(err)
				}
				wins += c.Won
			}
			var simulated float64
			if err := db.GetContext(ctx, &simulated, `SELECT COALESCE(sum(amount), 0) FROM opportunities WHERE is_won AND closed_at >= $1`, start); err != nil {
				t.Fatal(err)
			}
			if budget := year / (365.25 * 24) * 1.0001; simulated > budget {
				t.Errorf("the simulated hour won %.0f, more than the year target's pace allows (%.0f)", simulated, budget)
			}
			q := cal.Period(fiscal.Quarter, end)
			var won float64
			if err := db.GetContext(ctx, &won, `SELECT COALESCE(sum(amount), 0) FROM opportunities WHERE is_won AND closed_at >= $1 AND closed_at < $2 AND closed_at <= $3`,
				q.Start, q.End, end); err != nil {
				t.Fatal(err)
			}
			elapsed := end.Sub(q.Start).Seconds() / q.End.Sub(q.Start).Seconds()
			pace := won / (float64(targets[q.Name]) * elapsed)
			t.Logf("%d simulated wins (%.0f); quarter pace %.2f", wins, simulated, pace)
			if pace < 0.7 || pace > 1.3 {
				t.Errorf("after an hour of simulation the quarter's pace is %.0f%%, want 100%% ± 30%%", pace*100)
			}
		})
	}
}
