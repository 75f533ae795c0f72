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
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/internal/strictmain"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/metrics"
)

func TestMain(m *testing.M) { strictmain.Main(m) }

// world is a CRM and a campaign database, each in its own fresh PostgreSQL database, with demo
// data generated at an instant and an exporter configured for them, in the instant's company time
// zone and with a fiscal year that starts in February.
type world struct {
	t               *testing.T
	crm, camp       *sqlx.DB
	crmURL, campURL string
	now             time.Time
	tz              string
	fiscalStart     int
	cfg             *config.Config
}

const testConfig = `
databases:
  crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}
  campaigns: {dsn_env: CAMPAIGNS, poll_interval: 1m, query_timeout: 30s}
funnel:
  stage_probability: {" Demo ": "0.3", proposal: 0.55}
  default_stage_probability: "0.05"
targets:
  timezone: %s
  fiscal_year_start_month: %d
  reporting_currency: USD
  currency_rates: {EUR: "1.08", GBP: "1.27"}
  revenue: {FY2027: "12000000.50", FY2027-Q3: "2500000"}
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

// The demo's ordinary "now": an afternoon in the fourth quarter of FY2027 (February start).
var demoNow = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)

// ordinary is the instant of the tests that are not about the calendar.
var ordinary = instants.Instant{Name: "ordinary", Zone: time.UTC, At: demoNow}

func newWorld(t *testing.T, seed uint64, leads int, extraConfig string, at instants.Instant) *world {
	t.Helper()
	w := &world{t: t, now: at.At, tz: at.TimeZone(), fiscalStart: 2}
	// One database holds both schemas, so the independent SQL can join touches with leads and
	// deals; the exporter still reads it through two DSNs, as two databases.
	w.crm, w.crmURL = testdb.Open(t)
	w.camp, w.campURL = w.crm, w.crmURL
	ctx := context.Background()
	// 500 days: the previous fiscal year is complete whatever the instant.
	if _, err := demo.Load(ctx, w.crm, w.camp,
		demo.Options{Seed: seed, Leads: leads, Now: w.now, Days: 500, Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	// A pipeline stage neither the built-in probabilities nor the test config name.
	w.exec(`UPDATE opportunities SET stage_name = 'Legal Review' WHERE id % 7 = 0 AND NOT is_closed`)
	w.exec(businessTimeFunction)
	w.exec(dueFunction)
	w.cfg = reparse(t, w, w.config()+extraConfig)
	return w
}

// config is the test configuration in the world's time zone and fiscal calendar.
func (w *world) config() string { return fmt.Sprintf(testConfig, w.tz, w.fiscalStart) }

func (w *world) loc() *time.Location {
	l, err := time.LoadLocation(w.tz)
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

func (w *world) exec(q string, args ...any) {
	w.t.Helper()
	if _, err := w.crm.Exec(q, args...); err != nil {
		w.t.Fatalf("%v\n%s", err, q)
	}
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

// dueFunction is the tests' independent SLA deadline: the moment secs of business time (as
// tandem_bt counts it) have passed since s: on the first working day whose business hours bring
// the running total to secs, that many seconds into them.
const dueFunction = `
CREATE FUNCTION tandem_due(s timestamptz, secs numeric, reg text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT EXISTS (SELECT 1 FROM bh_cal) THEN s + secs * interval '1 second'
    ELSE (SELECT w_from + (secs - (cum - avail)) * interval '1 second' FROM (
      SELECT w_from, avail, sum(avail) OVER (ORDER BY w_from) AS cum FROM (
        SELECT GREATEST(s, (g.day::date + c.open_t) AT TIME ZONE c.tz) AS w_from,
               EXTRACT(EPOCH FROM (g.day::date + c.close_t) AT TIME ZONE c.tz - GREATEST(s, (g.day::date + c.open_t) AT TIME ZONE c.tz)) AS avail
        FROM bh_cal c
        CROSS JOIN LATERAL generate_series((s AT TIME ZONE c.tz)::date, (s AT TIME ZONE c.tz)::date + 60, interval '1 day') AS g(day)
        WHERE c.region = COALESCE((SELECT region FROM bh_cal WHERE region = lower(trim(reg))), '*')
          AND EXTRACT(ISODOW FROM g.day) = ANY (c.days) AND NOT (g.day::date = ANY (c.holidays))) d
      WHERE avail > 0) x
      WHERE cum >= secs ORDER BY w_from LIMIT 1)
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

// series flattens a registry into "name{label="value",...}" → value, keeping only metrics that
// pass keep.
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
			default:
				t.Fatalf("%s is a %s: Tandem publishes counters and gauges only", name, mf.GetType())
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

// parseKey splits a seriesKey back into its name and labels.
func parseKey(k string) (string, map[string]string) {
	name, rest, _ := strings.Cut(k, "{")
	rest = strings.TrimSuffix(rest, "}")
	labels := map[string]string{}
	for rest != "" {
		eq := strings.Index(rest, "=")
		label := rest[:eq]
		v, tail, err := unquote(rest[eq+1:])
		if err != nil {
			panic(err)
		}
		labels[label] = v
		rest = strings.TrimPrefix(tail, ",")
	}
	return name, labels
}

// unquote reads one Go-quoted string at the start of s.
func unquote(s string) (string, string, error) {
	for i := 1; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == '"' {
			v, err := strconv.Unquote(s[:i+1])
			return v, s[i+1:], err
		}
	}
	return "", "", fmt.Errorf("unterminated label value in %q", s)
}

// expectSQL runs a query whose columns are label names plus "value" and records each row as an
// expected series of metric.
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

// equal is exact, money and counts to the unit, except where SQL and Go compute fractions in
// another order: interpolated quantiles, waits in seconds with fractions, the elapsed share.
func equal(key string, a, b float64) bool {
	if a == b {
		return true
	}
	if strings.Contains(key, "percentile=") || strings.HasPrefix(key, metrics.PeriodElapsed) ||
		strings.HasPrefix(key, metrics.FollowupOldestWait) || strings.HasPrefix(key, metrics.RecentlyBreachedOldest) {
		return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
	}
	return false
}
