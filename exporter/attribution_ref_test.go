package exporter_test

import (
	"math"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/metrics"
)

// attributionReference recomputes tandem_attributed_revenue_total from plain SQL reads with a
// deliberately simple implementation of each model, written from the rules in docs/metrics.md
// (not from the attribution package).
func attributionReference(t *testing.T, db *sqlx.DB, now time.Time) map[string]float64 {
	t.Helper()
	type deal struct {
		LeadID      *int64     `db:"lead_id"`
		Amount      float64    `db:"amount"`
		Created     time.Time  `db:"created_at"`
		Closed      *time.Time `db:"closed_at"`
		LeadCreated *time.Time `db:"lead_created"`
	}
	var deals []deal
	if err := db.Select(&deals, `
		WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric))
		SELECT o.lead_id, round(o.amount * r.rate, 2)::float8 AS amount, o.created_at, o.closed_at, l.created_at AS lead_created
		FROM opportunities o JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD')
		LEFT JOIN leads l ON l.id = o.lead_id
		WHERE o.is_won`); err != nil {
		t.Fatal(err)
	}
	type touch struct {
		At       time.Time `db:"occurred_at"`
		Channel  string    `db:"channel"`
		Campaign string    `db:"campaign"`
	}
	out := map[string]float64{}
	add := func(model, channel, campaign string, v float64) {
		out[seriesKey(metrics.AttributedRevenue, map[string]string{"model": model, "channel": channel, "campaign": campaign})] += v
	}
	halfLife := 7 * 24 * time.Hour
	for _, d := range deals {
		won := now
		if d.Closed != nil {
			won = *d.Closed
		}
		var touches []touch
		if d.LeadID != nil && d.LeadCreated != nil {
			if err := db.Select(&touches, `SELECT t.occurred_at, lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel,
				COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign
				FROM marketing_touchpoints t LEFT JOIN campaigns c ON c.id = t.campaign_id
				WHERE t.lead_id = $1 AND t.occurred_at <= $2 ORDER BY t.occurred_at, t.id`, *d.LeadID, won); err != nil {
				t.Fatal(err)
			}
		}
		n := len(touches)
		models := []string{"first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"}
		if n == 0 {
			for _, m := range models {
				add(m, "unattributed", "unattributed", d.Amount)
			}
			continue
		}
		lastAtOrBefore := func(moment time.Time) int {
			idx := 0
			for i, tc := range touches {
				if !tc.At.After(moment) {
					idx = i
				}
			}
			return idx
		}
		weights := map[string][]float64{}
		for _, m := range models {
			weights[m] = make([]float64, n)
		}
		weights["first_touch"][0] = 1
		weights["last_touch"][n-1] = 1
		for i := range touches {
			weights["linear"][i] = 1 / float64(n)
		}
		// U-shaped.
		u := weights["u_shaped"]
		l := lastAtOrBefore(*d.LeadCreated)
		u[0] += 0.4
		u[l] += 0.4
		var mid []int
		for i := 1; i < l; i++ {
			mid = append(mid, i)
		}
		if len(mid) == 0 {
			if l == 0 {
				u[0] += 0.2
			} else {
				u[0] += 0.1
				u[l] += 0.1
			}
		}
		for _, i := range mid {
			u[i] += 0.2 / float64(len(mid))
		}
		// W-shaped.
		w := weights["w_shaped"]
		o := lastAtOrBefore(d.Created)
		marks := map[int]bool{0: true, l: true, o: true}
		w[0] += 0.3
		w[l] += 0.3
		w[o] += 0.3
		var rest []int
		for i := range touches {
			if !marks[i] {
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			for i := range marks {
				w[i] += 0.1 / float64(len(marks))
			}
		}
		for _, i := range rest {
			w[i] += 0.1 / float64(len(rest))
		}
		// Time decay.
		total := 0.0
		for i, tc := range touches {
			weights["time_decay"][i] = math.Pow(2, -won.Sub(tc.At).Hours()/halfLife.Hours())
			total += weights["time_decay"][i]
		}
		for i := range touches {
			weights["time_decay"][i] /= total
		}
		for _, m := range models {
			for i, tc := range touches {
				if weights[m][i] != 0 {
					add(m, tc.Channel, tc.Campaign, d.Amount*weights[m][i])
				}
			}
		}
	}
	return out
}

// checkConservation: under every model, attributed plus unattributed revenue is the won revenue,
// to the cent.
func checkConservation(t *testing.T, w *world, e *exporter.Exporter) {
	t.Helper()
	var won float64
	if err := w.crm.Get(&won, `WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric))
		SELECT COALESCE(sum(round(o.amount * r.rate, 2)), 0)::float8 FROM opportunities o
		JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD') WHERE o.is_won`); err != nil {
		t.Fatal(err)
	}
	mfs, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	perModel := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != metrics.AttributedRevenue {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "model" {
					perModel[lp.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	if len(perModel) != 6 {
		t.Fatalf("attribution published for %d models, want 6", len(perModel))
	}
	for m, v := range perModel {
		if math.Abs(v-won) >= 0.005 {
			t.Errorf("model %s: attributed + unattributed = %.4f, won revenue = %.2f", m, v, won)
		}
	}
}
