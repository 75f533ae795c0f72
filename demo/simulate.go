package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/fiscal"
)

// Simulator keeps demo data moving: each Step adds leads and touches and moves leads through the
// funnel, the way a CRM changes between two polls. Its SQL runs on PostgreSQL and SQLite.
type Simulator struct {
	crm, camp *sqlx.DB
	r         *rand.Rand
	next      map[string]int64
	// With WinAtPace, wins follow a yearly revenue pace (0: no limit).
	wonPerSecond float64
	started      time.Time
	won          float64
}

// Change counts what a Step did.
type Change struct {
	NewLeads, MQLs, Touches, SQLs, Disqualified, Opportunities, Won, Lost, CampaignDays, Touchpoints int
}

// NewSimulator continues after the rows already in the databases.
func NewSimulator(ctx context.Context, crm, camp *sqlx.DB, seed uint64) (*Simulator, error) {
	s := &Simulator{crm: crm, camp: camp, r: rand.New(rand.NewPCG(seed, seed+1)), next: map[string]int64{}}
	for _, x := range []struct {
		db    *sqlx.DB
		table string
	}{{crm, "leads"}, {crm, "sales_activities"}, {crm, "opportunities"}, {camp, "marketing_touchpoints"}} {
		var max int64
		if err := x.db.GetContext(ctx, &max, "SELECT COALESCE(MAX(id), 0) FROM "+x.table); err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		s.next[x.table] = max + 1
	}
	return s, nil
}

// WinAtPace limits the revenue the simulation wins to perYear a year, in real time: a demo left
// running with its suggested targets then stays near the pace its history set, instead of winning
// a quarter's target every few minutes. A deal that would run ahead of the pace stays open.
func (s *Simulator) WinAtPace(perYear float64) {
	s.wonPerSecond = perYear / (365.25 * 24 * 3600)
}

func (s *Simulator) id(table string) int64 {
	v := s.next[table]
	s.next[table]++
	return v
}

func (s *Simulator) ids(ctx context.Context, db *sqlx.DB, query string, args ...any) ([]int64, error) {
	var out []int64
	err := db.SelectContext(ctx, &out, db.Rebind(query), args...)
	return out, err
}

func (s *Simulator) exec(ctx context.Context, db *sqlx.DB, query string, args ...any) error {
	_, err := db.ExecContext(ctx, db.Rebind(query), args...)
	return err
}

// Step makes one round of changes at time now.
func (s *Simulator) Step(ctx context.Context, now time.Time) (Change, error) {
	if s.started.IsZero() {
		s.started = now
	}
	var c Change
	now = now.UTC().Truncate(time.Second)
	r := s.r

	// New leads, most of them qualified on arrival (a form fill with a high score).
	for k, n := 0, 1+r.IntN(3); k < n; k++ {
		id := s.id("leads")
		ch := channels[pick(r, channels, func(c channel) float64 { return c.weight })]
		reg := regions[r.IntN(len(regions))].name
		seg := segments[r.IntN(len(segments))].name
		owner := int64(1 + r.IntN(len(teams)*4))
		var mql any
		status := "New"
		if r.Float64() < ch.mql {
			mql, status = now, "MQL"
			c.MQLs++
		}
		if err := s.exec(ctx, s.crm, `INSERT INTO leads (id, created_at, updated_at, email, source, region, segment, owner_id, status, mql_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, now, now, fmt.Sprintf("lead%d@example.org", id), ch.name, reg, seg, owner, status, mql); err != nil {
			return c, err
		}
		c.NewLeads++
		if err := s.exec(ctx, s.camp, `INSERT INTO marketing_touchpoints (id, lead_id, campaign_id, kind, occurred_at, updated_at)
VALUES (?, ?, (SELECT MIN(id) FROM campaigns WHERE channel = ?), 'form_fill', ?, ?)`, s.id("marketing_touchpoints"), id, ch.name, now, now); err != nil {
			return c, err
		}
		c.Touchpoints++
	}

	// Reps follow up some of the waiting MQLs, newest first; older ones keep waiting.
	waiting, err := s.ids(ctx, s.crm, `SELECT id FROM leads l WHERE status = 'MQL' AND mql_at IS NOT NULL
AND NOT EXISTS (SELECT 1 FROM sales_activities a WHERE a.lead_id = l.id) ORDER BY mql_at DESC, id DESC LIMIT 4`)
	if err != nil {
		return c, err
	}
	for _, id := range waiting {
		if r.IntN(2) == 0 {
			continue
		}
		if err := s.exec(ctx, s.crm, `INSERT INTO sales_activities (id, lead_id, owner_id, kind, occurred_at, updated_at)
VALUES (?, ?, (SELECT owner_id FROM leads WHERE id = ?), ?, ?, ?)`, s.id("sales_activities"), id, id, []string{"call", "email"}[r.IntN(2)], now, now); err != nil {
			return c, err
		}
		if err := s.exec(ctx, s.crm, `UPDATE leads SET status = 'Working', updated_at = ? WHERE id = ?`, now, id); err != nil {
			return c, err
		}
		c.Touches++
	}

	// Sales decides on a worked lead: accept (SQL) or reject with a reason.
	worked, err := s.ids(ctx, s.crm, `SELECT id FROM leads WHERE status = 'Working' ORDER BY updated_at, id LIMIT 2`)
	if err != nil {
		return c, err
	}
	for _, id := range worked {
		if r.IntN(3) == 0 {
			reason := disqualReasons[r.IntN(len(disqualReasons))].name
			err = s.exec(ctx, s.crm, `UPDATE leads SET status = 'Disqualified', disqualified_at = ?, disqualified_reason = ?, updated_at = ? WHERE id = ?`, now, reason, now, id)
			c.Disqualified++
		} else {
			err = s.exec(ctx, s.crm, `UPDATE leads SET status = 'SQL', sql_at = ?, updated_at = ? WHERE id = ?`, now, now, id)
			c.SQLs++
		}
		if err != nil {
			return c, err
		}
	}

	// An accepted lead becomes an opportunity.
	accepted, err := s.ids(ctx, s.crm, `SELECT id FROM leads l WHERE status = 'SQL'
AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.lead_id = l.id) ORDER BY sql_at, id LIMIT 1`)
	if err != nil {
		return c, err
	}
	for _, id := range accepted {
		expected := now.Add(time.Duration(20+r.IntN(60)) * 24 * time.Hour)
		expectedDay := time.Date(expected.Year(), expected.Month(), expected.Day(), 0, 0, 0, 0, time.UTC)
		if err := s.exec(ctx, s.crm, `INSERT INTO opportunities (id, lead_id, amount, currency, stage_name, created_at, expected_close_date, is_closed, is_won, updated_at)
VALUES (?, ?, ?, 'USD', 'Discovery', ?, ?, ?, ?, ?)`, s.id("opportunities"), id, amountFor(r, r.IntN(len(segments))), now, expectedDay, false, false, now); err != nil {
			return c, err
		}
		if err := s.exec(ctx, s.crm, `UPDATE leads SET status = 'Converted', updated_at = ? WHERE id = ?`, now, id); err != nil {
			return c, err
		}
		c.Opportunities++
	}

	// An open deal closes, won or lost.
	open, err := s.ids(ctx, s.crm, `SELECT id FROM opportunities WHERE is_closed = ? ORDER BY created_at, id LIMIT 1`, false)
	if err != nil {
		return c, err
	}
	for _, id := range open {
		if r.IntN(2) == 0 {
			continue
		}
		won := r.IntN(3) == 0
		if won {
			var amount float64
			if err := s.crm.GetContext(ctx, &amount, s.crm.Rebind(`SELECT amount FROM opportunities WHERE id = ?`), id); err != nil {
				return c, err
			}
			if s.wonPerSecond > 0 && s.won+amount > s.wonPerSecond*now.Sub(s.started).Seconds() {
				continue // ahead of the history's pace: the deal stays open for now
			}
			s.won += amount
		}
		stage := "Closed Lost"
		if won {
			stage = "Closed Won"
			c.Won++
		} else {
			c.Lost++
		}
		if err := s.exec(ctx, s.crm, `UPDATE opportunities SET is_closed = ?, is_won = ?, stage_name = ?, closed_at = ?, updated_at = ? WHERE id = ?`, true, won, stage, now, now, id); err != nil {
			return c, err
		}
	}

	// Spend keeps accruing on today's row of an always-on campaign.
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	camps, err := s.ids(ctx, s.camp, `SELECT id FROM campaigns ORDER BY id`)
	if err != nil {
		return c, err
	}
	if len(camps) > 0 {
		cid := camps[r.IntN(len(camps))]
		spend := formatCents(int64(500 + r.IntN(20000)))
		impr, clicks := int64(50+r.IntN(400)), int64(r.IntN(12))
		if err := s.exec(ctx, s.camp, `INSERT INTO campaign_daily_stats (campaign_id, day, spend, impressions, clicks, updated_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, day) DO UPDATE SET spend = campaign_daily_stats.spend + excluded.spend,
  impressions = campaign_daily_stats.impressions + excluded.impressions,
  clicks = campaign_daily_stats.clicks + excluded.clicks, updated_at = excluded.updated_at`, cid, day, spend, impr, clicks, now); err != nil {
			return c, err
		}
		c.CampaignDays++
	}
	return c, nil
}

// Run steps every interval until ctx ends, at the time clock reads; errors are passed to onErr
// and the loop goes on.
func (s *Simulator) Run(ctx context.Context, every time.Duration, clock func() time.Time, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Step(ctx, clock()); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

// SuggestedTargets proposes revenue targets for demo data, for the fiscal year containing now
// and each of its quarters: the year's is 15% over the revenue won in the twelve months before
// now, rounded to thousands and split evenly over its quarters (the year's target is the sum of
// theirs). The wall then has a pace to show in every quarter, whichever "now" the demo runs at.
func SuggestedTargets(ctx context.Context, crm *sqlx.DB, now time.Time, cal fiscal.Calendar) (map[string]int64, error) {
	var won float64
	err := crm.GetContext(ctx, &won, crm.Rebind(`SELECT COALESCE(SUM(amount), 0) FROM opportunities WHERE is_won = ? AND closed_at >= ? AND closed_at < ?`),
		true, now.AddDate(-1, 0, 0), now)
	if err != nil {
		return nil, err
	}
	quarter := max(int64(won*1.15/4/1000)*1000, 1000)
	year := cal.Period(fiscal.Year, now)
	out := map[string]int64{}
	for q := year.Start; q.Before(year.End); q = cal.Period(fiscal.Quarter, q).End {
		out[cal.Period(fiscal.Quarter, q).Name] = quarter
		out[year.Name] += quarter
	}
	return out, nil
}

// Calendar is the fiscal calendar of the demo without a configuration: years from January, UTC.
var Calendar = fiscal.Calendar{StartMonth: time.January, Location: time.UTC}

// YearTarget is the target SuggestedTargets gave the fiscal year that now is in: the pace
// Simulator.WinAtPace keeps.
func YearTarget(targets map[string]int64, cal fiscal.Calendar, now time.Time) float64 {
	return float64(targets[cal.Period(fiscal.Year, now).Name])
}

// TargetsYAML is the targets.revenue block of tandem.yml for the given targets, in period order.
func TargetsYAML(targets map[string]int64) string {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "    %s: \"%d\"\n", n, targets[n])
	}
	return b.String()
}
