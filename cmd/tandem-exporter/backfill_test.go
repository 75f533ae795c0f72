package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/backfill"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/promstack"
	"github.com/tandem-oss/tandem/internal/testdb"
)

// backfillPlan is the test's plan: the default's 400 days, at a coarser step so that promtool and
// Prometheus have less to read (the step changes which instants are computed, not how).
var backfillPlan = backfill.Plan{Range: 400 * 24 * time.Hour, Step: 3 * 24 * time.Hour, Recent: 2 * 24 * time.Hour, RecentStep: time.Hour}

// historyChecks are dashboard panels whose number a sales-ops analyst writes in SQL for any
// instant $1 in the company time zone $2: the panel's first query, with $period set, evaluated by
// Prometheus at a backfilled instant, must equal it.
var historyChecks = []struct {
	file, title string
	period      fiscal.Window
	sql         string
}{
	{"wall.json", "Marketing · Leads this week", fiscal.ThisWeek, `
SELECT count(*)::float FROM leads
WHERE created_at <= $1 AND created_at >= (date_trunc('week', $1::timestamptz AT TIME ZONE $2) AT TIME ZONE $2)`},
	{"sales.json", "Revenue won", fiscal.LastQuarter, `
WITH q AS (SELECT date_trunc('quarter', $1::timestamptz AT TIME ZONE $2) AS s),
rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric))
SELECT COALESCE(sum(round(o.amount * r.rate, 2)), 0)::float
FROM opportunities o JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD'), q
WHERE o.is_won AND o.created_at <= $1
  AND o.closed_at >= ((q.s - interval '3 months') AT TIME ZONE $2) AND o.closed_at < (q.s AT TIME ZONE $2)`},
	{"sales.json", "Revenue won", fiscal.ThisQuarter, `
WITH q AS (SELECT date_trunc('quarter', $1::timestamptz AT TIME ZONE $2) AS s),
rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric))
SELECT COALESCE(sum(round(o.amount * r.rate, 2)), 0)::float
FROM opportunities o JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD'), q
WHERE o.is_won AND o.created_at <= $1 AND o.closed_at <= $1 AND o.closed_at >= (q.s AT TIME ZONE $2)`},
}

// panelExpr is a panel's first query in a generated dashboard, with its variables set as Grafana
// sends them: every job, instance and team, the period given.
func panelExpr(t *testing.T, file, title string, period fiscal.Window) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "dashboards", file))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Panels {
		if p.Title == title && len(p.Targets) > 0 {
			e := strings.NewReplacer("${period}", string(period), "$period", string(period)).Replace(p.Targets[0].Expr)
			for _, v := range []string{"$job", "$instance", "$sales_team", "$region", "$channel", "$campaign"} {
				e = strings.ReplaceAll(e, v, ".*")
			}
			return e
		}
	}
	t.Fatalf("%s: no panel %q", file, title)
	return ""
}

// The history of day one: demo data over 400 days, backfilled by the command, loaded by
// promtool into a real Prometheus that then scrapes the live exporter. At instants weeks and
// months back the dashboards' "this week" and "previous quarter" equal the analyst's SQL at that
// instant; the live series continue the backfilled ones (same series, same value at the join);
// and a second backfill against that Prometheus is refused, saying how to rerun it.
func TestBackfillThenLive(t *testing.T) {
	promtool := promstack.Binary(t, "promtool")
	promstack.Binary(t, "prometheus")
	bin := build(t)
	ctx := context.Background()

	url := testdb.New(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Prometheus runs on the real clock, so the history must end at the real now for the live
	// scrapes to continue it; the instants checked are relative to it, in a DST-observing zone.
	now := time.Now().UTC().Truncate(time.Second)
	const zone = "America/New_York"
	if _, err := demo.Load(ctx, db, db, demo.Options{Seed: 15, Leads: 1200, Now: now, Days: 400}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`databases:
  crm: {dsn_env: T_CRM, poll_interval: 2s, query_timeout: 2s}
  campaigns: {dsn_env: T_CAMP, poll_interval: 2s, query_timeout: 2s}
targets:
  timezone: %s
  currency_rates: {EUR: "1.08", GBP: "1.27"}
`, zone))
	env := append(os.Environ(), "T_CRM="+url, "T_CAMP="+url)
	// The live exporter, started first: the history is written for its instance (address).
	live := exec.Command(bin, "--config.file", cfg)
	live.Env = env
	addr, liveLog := startListening(t, live)
	defer func() { live.Process.Kill(); live.Wait() }() //nolint:errcheck
	dir := t.TempDir()
	out := filepath.Join(dir, "history.om")
	args := []string{"backfill", "--config.file", cfg, "--backfill.output", out, "--backfill.instance", addr,
		"--backfill.range=400d", "--backfill.step=3d", "--backfill.recent=2d", "--backfill.recent-step=1h",
		"--backfill.now", now.Format(time.RFC3339)}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backfill: %v\n%s", err, b)
	}
	om, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, health := range []string{"tandem_up", "tandem_poll", "tandem_query_", "tandem_followup_waiting_leads", "tandem_leads{"} {
		if bytes.Contains(om, []byte("\n"+health)) {
			t.Errorf("the backfill holds %s, which is not an event-time series", health)
		}
	}
	om = nil

	// Written once: a second run onto the same output is refused, or skipped when asked to.
	cmd = exec.Command(bin, args...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err == nil || !bytes.Contains(b, []byte("remove it to rerun")) {
		t.Errorf("a second backfill onto %s was not refused: %v\n%s", out, err, b)
	}
	cmd = exec.Command(bin, append(args, "--backfill.skip-existing")...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("--backfill.skip-existing: %v\n%s", err, b)
	}

	data := filepath.Join(dir, "data")
	if b, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
		"--max-block-duration="+backfill.BlockDuration, out, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, b)
	}

	prom := promstack.PrometheusOn(t, data, fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: tandem
    static_configs: [{targets: ['%s']}]
`, addr), nil)
	promstack.Eventually(t, 60*time.Second, "live scrapes with data", func() string {
		r, err := prom.Query(`count_over_time(tandem_up{database="crm"}[1m]) >= 3 and on() count(tandem_leads_created) > 0`)
		if err != nil {
			return err.Error()
		}
		if len(r) == 0 {
			return "not yet:\n" + liveLog.String()
		}
		return ""
	})

	// Past instants: about three weeks, four months and ten months back, each one the plan
	// computed; and the last one, a second before the live scrapes could begin.
	instants := backfillPlan.Instants(now)
	var at []time.Time
	for _, back := range []time.Duration{21 * 24 * time.Hour, 122 * 24 * time.Hour, 300 * 24 * time.Hour} {
		i := sort.Search(len(instants), func(i int) bool { return !instants[i].Before(now.Add(-back)) })
		at = append(at, instants[i])
	}
	at = append(at, instants[len(instants)-1])
	for _, t0 := range at {
		for _, c := range historyChecks {
			expr := panelExpr(t, c.file, c.title, c.period)
			var want float64
			if err := db.QueryRow(c.sql, t0, zone).Scan(&want); err != nil {
				t.Fatalf("%s: %v", c.title, err)
			}
			got := queryValue(t, prom, expr, t0)
			if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%s %q (%s) at %s: Prometheus says %v, SQL %v (%s)", c.file, c.title, c.period, t0.Format(time.RFC3339), got, want, expr)
			}
		}
	}

	// Trend panels draw the history as a line: between two daily samples, at an hour no sample
	// was written, "week by week" shows the week before the last sample.
	weekly := panelExpr(t, "wall.json", "Marketing · week by week", fiscal.LastWeek)
	for _, t0 := range at[:3] {
		var want float64
		if err := db.QueryRow(`SELECT count(*)::float FROM leads
			WHERE created_at <  (date_trunc('week', $1::timestamptz AT TIME ZONE $2) AT TIME ZONE $2)
			  AND created_at >= ((date_trunc('week', $1::timestamptz AT TIME ZONE $2) - interval '7 days') AT TIME ZONE $2)`, t0, zone).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got := queryValue(t, prom, weekly, t0.Add(7*time.Hour)); got != want {
			t.Errorf("wall.json week by week 7h after %s: %v, SQL %v (%s)", t0.Format(time.RFC3339), got, want, weekly)
		}
	}

	// The join: the first live scrape carries the same series as the last backfilled instant,
	// with the same values (no row was written in between).
	ex, err := backfill.Inspect(ctx, http.DefaultClient, prom.URL, map[string]string{"job": "tandem", "instance": addr}, now.Add(-backfillPlan.Range), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ex.FirstLive.Before(now) || !ex.Backfilled {
		t.Fatalf("Inspect: %+v; want the first live scrape after %s and the history found", ex, now)
	}
	last := instants[len(instants)-1]
	if a, b := series(t, prom, `tandem_period_start_timestamp_seconds{period="today"}`, last), series(t, prom, `tandem_period_start_timestamp_seconds{period="today"}`, ex.FirstLive); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Logf("a day began between the backfill and the first live scrape (%v, %v): the join is not compared", a, b)
		last = time.Time{}
	}
	for _, family := range []string{"tandem_leads_created", "tandem_opportunities_won_amount", "tandem_campaign_spend", "tandem_funnel_cohort_leads"} {
		if last.IsZero() {
			break
		}
		before, after := series(t, prom, family+`{period=~"this_.*"}`, last), series(t, prom, family+`{period=~"this_.*"}`, ex.FirstLive)
		if len(before) == 0 {
			t.Errorf("%s: nothing backfilled at %s", family, last.Format(time.RFC3339))
		}
		for k, v := range after {
			if b, ok := before[k]; !ok || b != v {
				t.Errorf("%s: at the join, live %s = %v, backfilled %v (present %v)", family, k, v, b, ok)
			}
		}
		if len(before) != len(after) {
			t.Errorf("%s: %d backfilled series at the join, %d live", family, len(before), len(after))
		}
	}

	// A second backfill against this Prometheus is refused, saying how to rerun it.
	again := append([]string{}, args...)
	again[4] = filepath.Join(dir, "again.om") // --backfill.output's value
	cmd = exec.Command(bin, append(again, "--backfill.prometheus-url", prom.URL)...)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(b, []byte("already holds backfilled Tandem series")) || !bytes.Contains(b, []byte("delete_series")) {
		t.Errorf("a second backfill was not refused: %v\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(dir, "again.om")); err == nil {
		t.Error("the refused backfill wrote its output")
	}
}

// queryValue evaluates an expression of one series at an instant.
func queryValue(t *testing.T, prom *promstack.Process, expr string, at time.Time) float64 {
	t.Helper()
	res, err := prom.QueryAt(expr, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%s at %s: %d series", expr, at.Format(time.RFC3339), len(res))
	}
	v, err := strconv.ParseFloat(fmt.Sprint(res[0].Value[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// series evaluates a selector at an instant: label set → value.
func series(t *testing.T, prom *promstack.Process, sel string, at time.Time) map[string]string {
	t.Helper()
	res, err := prom.QueryAt(sel, at)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res {
		keys := make([]string, 0, len(r.Metric))
		for k := range r.Metric {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q,", k, r.Metric[k])
		}
		out[b.String()] = fmt.Sprint(r.Value[1])
	}
	return out
}
