package dashboards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	neturl "net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/dashboards"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/internal/promstack"
	"github.com/tandem-oss/tandem/internal/strictmain"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/internal/testexporter"
)

func TestMain(m *testing.M) { strictmain.Main(m) }

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// Every panel of every dashboard shows data, at every simulated instant: the exporter runs on
// demo data in PostgreSQL generated at the instant, on a clock standing at it, a real Prometheus
// (on the real clock) scrapes it, and each panel query, run through Prometheus' HTTP API as
// Grafana would send it, must succeed and return at least one series.
func TestDashboardsShowData(t *testing.T) {
	promstack.Binary(t, "prometheus")
	for _, in := range instants.All(time.Now(), time.January) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			dashboardsShowData(t, in)
		})
	}
}

func dashboardsShowData(t *testing.T, in instants.Instant) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	crmURL, campURL := testdb.New(t), testdb.New(t)
	crm, err := sqlx.Open("postgres", crmURL)
	if err != nil {
		t.Fatal(err)
	}
	defer crm.Close()
	camp, err := sqlx.Open("postgres", campURL)
	if err != nil {
		t.Fatal(err)
	}
	defer camp.Close()
	now := in.At
	if _, err := demo.Load(ctx, crm, camp, demo.Options{Seed: 9, Leads: 3000, Now: now, Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	// Live traffic, so there are fresh MQLs still within their SLA as well as late ones.
	sim, err := demo.NewSimulator(ctx, crm, camp, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := sim.Step(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	// And one lead that qualified a minute ago and has not been called yet: waiting, within the SLA.
	if _, err := crm.Exec(`INSERT INTO leads (id, created_at, updated_at, source, region, segment, owner_id, status, mql_at)
		VALUES (999999, $1, $1, 'webinar', 'emea', 'smb', 9, 'MQL', $1)`, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}

	year := fiscal.Calendar{StartMonth: time.January, Location: in.Zone}.Period(fiscal.Year, now)
	// The exporter's clock stands at the instant: the last second of a quarter stays its last.
	_, target := testexporter.Serve(t, fmt.Sprintf(`databases:
  crm: {dsn_env: CRM, poll_interval: 1s, query_timeout: 1s}
  campaigns: {dsn_env: CAMPAIGNS, poll_interval: 1s, query_timeout: 1s}
targets:
  timezone: %s
  currency_rates: {EUR: "1.08", GBP: "1.27"}
  revenue: {%s: "20000000"}
`, in.TimeZone(), year.Name), map[string]string{"CRM": crmURL, "CAMPAIGNS": campURL}, func() time.Time { return now })
	prom := promstack.Prometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: tandem
    static_configs: [{targets: ['%s']}]
`, target), nil)

	promstack.Eventually(t, 60*time.Second, "six scrapes with data", func() string {
		r, err := prom.Query(`count_over_time(tandem_up{database="campaigns"}[1m]) >= 6 and on() count(tandem_leads_created) > 0`)
		if err != nil {
			return err.Error()
		}
		if len(r) == 0 {
			return "not yet"
		}
		return ""
	})

	queries, empty := 0, 0
	for _, d := range dashboards.All {
		db := load(t, d.File)
		for _, v := range db.Templating.List {
			q, _ := v.Query.(string)
			m := labelValues.FindStringSubmatch(q)
			if v.Type != "query" {
				continue
			}
			if m == nil {
				t.Errorf("%s: variable %s: unexpected query %q", d.File, v.Name, q)
				continue
			}
			vals, err := labelValuesOf(prom.URL, m[2], Expand(m[1], "5m"))
			if err != nil || len(vals) == 0 {
				t.Errorf("%s: variable %s (%s) has no values: %v", d.File, v.Name, q, err)
			}
		}
		for _, p := range db.Panels {
			for _, q := range p.Targets {
				queries++
				expr := Expand(q.Expr, "5m")
				res, err := prom.Query(expr)
				switch {
				case err != nil:
					t.Errorf("%s: %q: query fails: %v", d.File, p.Title, err)
				case len(res) == 0 && p.FieldConfig.Defaults.NoValue == "":
					t.Errorf("%s: %q shows No data: %s", d.File, p.Title, expr)
				case len(res) == 0:
					empty++ // the panel says why in words: "no deal closed yet"
				}
				checked := p
				if p.Type == "table" && strings.Contains(q.Expr, "tandem_campaign_spend") {
					checked.FieldConfig.Defaults.Unit = "currency" // the spend column's override
				}
				checkValues(t, d.File, checked, q.Legend, res)
			}
		}
	}
	t.Logf("%d panel queries, %d of them empty with the panel's no-value text", queries, empty)
	numbersEqualSQL(t, prom, crm, in)
}

func labelValuesOf(base, label, match string) ([]string, error) {
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/label/%s/values?match[]=%s", base, label, neturl.QueryEscape(match)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data []string `json:"data"`
	}
	return r.Data, json.NewDecoder(resp.Body).Decode(&r)
}

// legendLabel finds the labels a legend template names.
var legendLabel = regexp.MustCompile(`{{\s*(\w+)\s*}}`)

// checkValues holds a panel's numbers to what its unit promises: no NaN or Inf anywhere, counts
// are whole, ratios lie in [0, 1] (a pace or an ROI may exceed it; -1 is "No target set"), and a
// series the legend names by a label has that label.
func checkValues(t *testing.T, file string, p panel, legend string, res []promstack.Sample) {
	t.Helper()
	unit, dec := p.FieldConfig.Defaults.Unit, p.FieldConfig.Defaults.Decimals
	unbounded := strings.Contains(p.Title, "Pace") || strings.Contains(p.Title, "ROI") || strings.Contains(p.Title, "Return on")
	for _, r := range res {
		v, err := strconv.ParseFloat(fmt.Sprint(r.Value[1]), 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			t.Errorf("%s: %q shows %v", file, p.Title, r.Value[1])
		case unit == "none" && dec != nil && *dec == 0 && v != math.Trunc(v):
			t.Errorf("%s: %q: a count of %v", file, p.Title, v)
		case unit == "percentunit" && !unbounded && v != -1 && (v < 0 || v > 1):
			t.Errorf("%s: %q: a ratio of %v", file, p.Title, v)
		}
		for _, m := range legendLabel.FindAllStringSubmatch(legend, -1) {
			if r.Metric[m[1]] == "" {
				t.Errorf("%s: %q: a series without %s (%v)", file, p.Title, m[1], r.Metric)
			}
		}
	}
}

// periodBounds is the independent SQL of a period's bounds in the company time zone ($2), at the
// exporter's clock ($1), for a January fiscal year: what an analyst writes.
const periodBounds = `
WITH b(period, s, e) AS (
  SELECT 'this_week', date_trunc('week', $1::timestamptz AT TIME ZONE $2), date_trunc('week', $1::timestamptz AT TIME ZONE $2) + interval '7 days'
  UNION ALL SELECT 'this_quarter', date_trunc('quarter', $1::timestamptz AT TIME ZONE $2), date_trunc('quarter', $1::timestamptz AT TIME ZONE $2) + interval '3 months'
  UNION ALL SELECT 'last_quarter', date_trunc('quarter', $1::timestamptz AT TIME ZONE $2) - interval '3 months', date_trunc('quarter', $1::timestamptz AT TIME ZONE $2)),
p AS (SELECT s AT TIME ZONE $2 AS start_at, e AT TIME ZONE $2 AS end_at FROM b WHERE period = $3),
rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric)),
opp AS (
  SELECT o.is_won, (o.is_closed OR o.is_won) AS is_closed, o.closed_at, round(o.amount * r.rate, 2) AS amount
  FROM opportunities o JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(o.currency)), ''), 'USD')
  WHERE round(o.amount * r.rate, 2) BETWEEN 0 AND 1000000000 AND o.created_at <= $1::timestamptz + interval '5 minutes'
    AND COALESCE(o.closed_at <= $1::timestamptz + interval '5 minutes', true))
`

// sqlChecks are panels whose number a sales-ops analyst can write in SQL: the panel's query (the
// target at index) with $period set equals it.
var sqlChecks = []struct {
	file, title string
	target      int
	period      fiscal.Window
	sql         string
}{
	{"wall.json", "Marketing · Leads this week", 0, fiscal.ThisWeek,
		`SELECT count(*) FROM leads, p WHERE created_at >= start_at AND created_at < end_at AND created_at <= $1::timestamptz + interval '5 minutes'`},
	{"wall.json", "Won this quarter", 0, fiscal.ThisQuarter,
		`SELECT COALESCE(sum(amount), 0) FROM opp, p WHERE is_won AND closed_at >= start_at AND closed_at < end_at`},
	{"marketing.json", "Leads", 0, fiscal.LastQuarter,
		`SELECT count(*) FROM leads, p WHERE created_at >= start_at AND created_at < end_at`},
	{"sales.json", "Revenue won", 0, fiscal.LastQuarter,
		`SELECT COALESCE(sum(amount), 0) FROM opp, p WHERE is_won AND closed_at >= start_at AND closed_at < end_at`},
	{"sales.json", "Win rate", 0, fiscal.ThisQuarter,
		`SELECT (count(*) FILTER (WHERE is_won))::float / NULLIF(count(*), 0) FROM opp, p WHERE is_closed AND closed_at >= start_at AND closed_at < end_at`},
}

// numbersEqualSQL runs each checked panel's query through Prometheus with the period picked and
// compares it with the analyst's SQL on the same rows.
func numbersEqualSQL(t *testing.T, prom *promstack.Process, crm *sqlx.DB, in instants.Instant) {
	t.Helper()
	for _, c := range sqlChecks {
		var expr string
		for _, p := range load(t, c.file).Panels {
			if p.Title == c.title && len(p.Targets) > c.target {
				expr = p.Targets[c.target].Expr
			}
		}
		if expr == "" {
			t.Errorf("%s: no panel %q", c.file, c.title)
			continue
		}
		expr = Expand(strings.ReplaceAll(strings.ReplaceAll(expr, "${period}", string(c.period)), "$period", string(c.period)), "5m")
		var want *float64
		if err := crm.QueryRow(periodBounds+c.sql, in.At, in.TimeZone(), string(c.period)).Scan(&want); err != nil {
			t.Fatalf("%s %q: %v", c.file, c.title, err)
		}
		res, err := prom.Query(expr)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case want == nil && len(res) == 0: // undefined in SQL, empty on the panel
		case want == nil || len(res) != 1:
			t.Errorf("%s %q (%s): %d series, SQL says %v", c.file, c.title, c.period, len(res), want)
		default:
			got, _ := strconv.ParseFloat(fmt.Sprint(res[0].Value[1]), 64)
			if math.Abs(got-*want) > 1e-9*math.Max(1, math.Abs(*want)) {
				t.Errorf("%s %q (%s) shows %v, SQL says %v", c.file, c.title, c.period, got, *want)
			}
		}
	}
}
