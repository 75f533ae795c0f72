package exporter_test

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/metrics"
)

// attributionReference recomputes tandem_attributed_revenue from plain SQL reads with a
// deliberately simple implementation of each model, written from the rules in docs/metrics.md
// (not from the attribution package): per period of the win date, in whole cents.
func attributionReference(t *testing.T, w *world) map[string]float64 {
	t.Helper()
	db, now := w.crm, w.now
	type deal struct {
		LeadID      *int64     `db:"lead_id"`
		Cents       int64      `db:"cents"`
		Created     time.Time  `db:"created_at"`
		Closed      time.Time  `db:"closed_at"`
		LeadCreated *time.Time `db:"lead_created"`
	}
	var deals []deal
	if err := db.Select(&deals, `
		WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric))
		SELECT o.lead_id, (round(o.amount * r.rate, 2) * 100)::bigint AS cents, o.created_at, o.closed_at,
		       CASE WHEN l.created_at <= $1::timestamptz + interval '5 minutes' THEN l.created_at END AS lead_created
		FROM opportunities o JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD')
		LEFT JOIN leads l ON l.id = o.lead_id
		WHERE o.is_won AND o.closed_at IS NOT NULL AND round(o.amount * r.rate, 2) BETWEEN 0 AND 1000000000
		  AND o.created_at <= $1::timestamptz + interval '5 minutes' AND o.closed_at <= $1::timestamptz + interval '5 minutes'`, now); err != nil {
		t.Fatal(err)
	}
	var spans []struct {
		Period string    `db:"period"`
		Start  time.Time `db:"start_at"`
		End    time.Time `db:"end_at"`
	}
	if err := db.Select(&spans, base+` SELECT period, start_at, end_at FROM periods`, now, w.tz, w.fiscalStart); err != nil {
		t.Fatal(err)
	}
	type touch struct {
		At       time.Time `db:"occurred_at"`
		Channel  string    `db:"channel"`
		Campaign string    `db:"campaign"`
	}
	cents := map[string]int64{}
	var dealPeriods []string
	add := func(model, channel, campaign string, c int64) {
		if c == 0 {
			return
		}
		for _, p := range dealPeriods {
			cents[seriesKey(metrics.AttributedRevenue, map[string]string{"period": p, "model": model, "channel": channel, "campaign": campaign})] += c
		}
	}
	halfLife := 7 * 24 * time.Hour
	for _, d := range deals {
		won := d.Closed
		dealPeriods = nil
		for _, sp := range spans {
			if !won.Before(sp.Start) && won.Before(sp.End) {
				dealPeriods = append(dealPeriods, sp.Period)
			}
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
				add(m, "unattributed", "unattributed", d.Cents)
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
			for i, c := range splitCents(d.Cents, weights[m]) {
				add(m, touches[i].Channel, touches[i].Campaign, c)
			}
		}
	}
	// Per model and period, the campaigns' series are published in every period once they exist.
	out := map[string]float64{}
	for k, c := range cents {
		out[k] = float64(c) / 100
	}
	return zeroFill(out)
}

// splitCents is the documented rounding: each share rounded down to the cent, then the cents
// left one each to the largest remainders, the earlier touch first on a tie.
func splitCents(cents int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	rem := make([]float64, len(weights))
	left := cents
	for i, w := range weights {
		x := float64(cents) * w
		out[i] = int64(math.Floor(x))
		rem[i] = x - math.Floor(x)
		left -= out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for k := 0; left > 0; k = (k + 1) % len(order) {
		out[order[k]]++
		left--
	}
	for k := len(order) - 1; left < 0; k = (k - 1 + len(order)) % len(order) {
		out[order[k]]--
		left++
	}
	return out
}

// checkConservation: under every model, in every period, attributed plus unattributed revenue is
// the period's won revenue, to the cent.
func checkConservation(t *testing.T, w *world, e *exporter.Exporter) {
	t.Helper()
	got := series(t, e.Registry, func(n string) bool { return n == metrics.AttributedRevenue || n == metrics.RevenueWon })
	won := map[string]float64{}
	perModel := map[[2]string]float64{}
	for k, v := range got {
		name, labels := parseKey(k)
		if name == metrics.RevenueWon {
			won[labels["period"]] = v
			continue
		}
		perModel[[2]string{labels["period"], labels["model"]}] += v
	}
	if len(perModel) != 6*len(won) {
		t.Fatalf("attribution published for %d model-periods, want 6 models × %d periods", len(perModel), len(won))
	}
	for k, v := range perModel {
		if math.Abs(v-won[k[0]]) >= 0.005 {
			t.Errorf("model %s, %s: attributed + unattributed = %.4f, won revenue = %.2f", k[1], k[0], v, won[k[0]])
		}
	}
}
