package exporter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// world is a CRM and a campaign database, each in its own fresh PostgreSQL database, with demo
// data and an exporter configured for them.
type world struct {
	t               *testing.T
	crm, camp       *sqlx.DB
	crmURL, campURL string
	now             time.Time
	cfg             *config.Config
}

const testConfig = `
databases:
  crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}
  campaigns: {dsn_env: CAMPAIGNS, poll_interval: 1m, query_timeout: 30s}
targets:
  reporting_currency: USD
  currency_rates: {EUR: "1.08", GBP: "1.27"}
  revenue: {FY2026: "12000000.50", FY2026-Q3: "2500000"}
labels:
  source: {enabled: true, max_values: 100}
  region: {enabled: true, max_values: 100}
  segment: {enabled: true, max_values: 100}
  sales_team: {enabled: true, max_values: 100}
  disqualified_reason: {max_values: 100}
  opportunity_stage: {max_values: 100}
  channel: {max_values: 100}
  kind: {max_values: 100}
  campaign: {max_values: 100}
`

// The demo's "now": inside FY2026-Q4 of a calendar fiscal year.
var demoNow = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)

func newWorld(t *testing.T, seed uint64, leads int, extraConfig string) *world {
	t.Helper()
	w := &world{t: t, now: demoNow}
	// One database holds both schemas, so the independent SQL can join touches with leads and
	// deals; the exporter still reads it through two DSNs, as two databases.
	w.crm, w.crmURL = testdb.Open(t)
	w.camp, w.campURL = w.crm, w.crmURL
	ctx := context.Background()
	if _, err := demo.Load(ctx, w.crm, w.camp,
		demo.Options{Seed: seed, Leads: leads, Now: w.now, Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.crm.Exec(businessTimeFunction); err != nil {
		t.Fatal(err)
	}
	w.cfg = reparse(t, w, testConfig+extraConfig)
	return w
}

// businessTimeFunction is the tests' independent business-time clock: seconds of [s, e) inside
// the opening hours of the owner region's calendar in bh_cal (row '*' is the default), day by
// local day; calendar time when bh_cal is empty.
const businessTimeFunction = `
CREATE TABLE bh_cal (region text PRIMARY KEY, tz text, open_t time, close_t time, days int[], holidays date[]);
CREATE FUNCTION tandem_bt(s timestamptz, e timestamptz, reg text) RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN s IS NULL OR e IS NULL THEN NULL
    WHEN e <= s THEN 0
    WHEN NOT EXISTS (SELECT 1 FROM bh_cal) THEN EXTRACT(EPOCH FROM e - s)
    ELSE COALESCE((
      SELECT sum(GREATEST(0, EXTRACT(EPOCH FROM LEAST(e, (g.day::date + c.close_t) AT TIME ZONE c.tz)
                                             - GREATEST(s, (g.day::date + c.open_t) AT TIME ZONE c.tz))))
      FROM bh_cal c
      CROSS JOIN LATERAL generate_series((s AT TIME ZONE c.tz)::date, (e AT TIME ZONE c.tz)::date, interval '1 day') AS g(day)
      WHERE c.region = COALESCE((SELECT region FROM bh_cal WHERE region = lower(trim(reg))), '*')
        AND EXTRACT(ISODOW FROM g.day) = ANY (c.days) AND NOT (g.day::date = ANY (c.holidays))), 0)
  END
$$;`

// reparse loads another configuration text for the world's databases.
func reparse(t *testing.T, w *world, yml string) *config.Config {
	t.Helper()
	env := map[string]string{"CRM": w.crmURL, "CAMPAIGNS": w.campURL}
	cfg, err := config.Parse([]byte(yml), "test.yml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (w *world) exporter() *exporter.Exporter {
	w.t.Helper()
	e, err := exporter.New(w.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func() time.Time { return w.now })
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(e.Close)
	return e
}

func poll(t *testing.T, e *exporter.Exporter) {
	t.Helper()
	if err := e.PollOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// series flattens a registry into "name{label="value",...}" → value, histograms as their
// _bucket, _sum and _count series, keeping only metrics that pass keep.
func series(t *testing.T, g prometheus.Gatherer, keep func(name string) bool) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !keep(name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(name, labels)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[seriesKey(name, labels)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					l := copyLabels(labels)
					l["le"] = strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					out[seriesKey(name+"_bucket", l)] = float64(b.GetCumulativeCount())
				}
				inf := copyLabels(labels)
				inf["le"] = "+Inf" // implicit in the protobuf form, explicit in the text exposition
				out[seriesKey(name+"_bucket", inf)] = float64(h.GetSampleCount())
				out[seriesKey(name+"_sum", labels)] = h.GetSampleSum()
				out[seriesKey(name+"_count", labels)] = float64(h.GetSampleCount())
			}
		}
	}
	return out
}

func copyLabels(l map[string]string) map[string]string {
	out := make(map[string]string, len(l)+1)
	for k, v := range l {
		out[k] = v
	}
	return out
}

func seriesKey(name string, labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// expectSQL runs a query whose columns are label names plus "value" and records each row as an
// expected series of metric. Series with a zero value are left out when skipZero is set (a
// GROUP BY over a LEFT JOIN or a FILTER produces them where the exporter has no series).
func expectSQL(t *testing.T, db *sqlx.DB, want map[string]float64, metric string, query string, args ...any) {
	t.Helper()
	rows, err := db.Queryx(query, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", metric, err, query)
	}
	defer rows.Close()
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		var value float64
		for k, v := range m {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			if k == "value" {
				value, err = strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatalf("%s: value %q: %v", metric, s, err)
				}
				continue
			}
			labels[k] = s
		}
		want[seriesKey(metric, labels)] = value
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// compare reports every difference between the published and the expected series.
func compare(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing   %s = %v", k, w))
		case !equal(k, g, w):
			diffs = append(diffs, fmt.Sprintf("different %s = %v, SQL says %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("unexpected %s = %v", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 40 {
			diffs = append(diffs[:40], fmt.Sprintf("... and %d more", len(diffs)-40))
		}
		t.Errorf("%s: %d of %d series differ from SQL:\n%s", what, len(diffs), len(want), strings.Join(diffs, "\n"))
	}
}

// equal is exact except for sums of float seconds and the elapsed ratio, which SQL and Go add
// in different orders.
func equal(key string, a, b float64) bool {
	if a == b {
		return true
	}
	if strings.Contains(key, "_seconds_sum{") || strings.HasPrefix(key, "tandem_fiscal_period_elapsed_ratio") ||
		strings.HasPrefix(key, "tandem_attributed_revenue_total") {
		return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
	}
	return false
}
