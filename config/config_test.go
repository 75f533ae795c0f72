package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/source"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var withDSN = env(map[string]string{"TANDEM_CRM_DSN": "postgres://u:hunter2@db/crm", "TANDEM_CAMPAIGNS_DSN": "postgres://u:hunter2@db/camp"})

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(""), "tandem.yml", withDSN)
	if err != nil {
		t.Fatal(err)
	}
	if c.DB(source.CRM).PollInterval != time.Minute || c.DB(source.CRM).QueryTimeout != 30*time.Second || c.DB(source.Campaigns) != nil {
		t.Errorf("database defaults wrong: %+v", c.DB(source.CRM))
	}
	if c.ClockFrom != funnel.MQL || c.SLA.Target != time.Hour || !c.TouchKind["meeting"] {
		t.Errorf("SLA defaults wrong: %+v", c.SLA)
	}
	var dims []string
	for _, d := range c.Dims {
		dims = append(dims, d.Name)
	}
	if strings.Join(dims, ",") != "source,region,sales_team" {
		t.Errorf("default dimensions = %v (owner and segment must be off by default)", dims)
	}
	if q := c.DB(source.CRM).Query(mustLookup(t, source.CRM, source.QueryLeads)); !strings.Contains(q, "FROM leads") {
		t.Errorf("default leads query = %q", q)
	}
}

func mustLookup(t *testing.T, db source.Database, name string) source.Query {
	q, ok := source.LookupQuery(db, name)
	if !ok {
		t.Fatal(name)
	}
	return q
}

func TestErrorsNameTheField(t *testing.T) {
	cases := []struct {
		name, yml string
		env       func(string) string
		want      []string // all must appear in the error
	}{
		{"unknown key", "databases:\n  crm:\n    poll_intervall: 1m\n", withDSN, []string{"tandem.yml:3", "databases.crm.poll_intervall", "did you mean poll_interval?"}},
		{"wrong type", "sla:\n  target: soon\n", withDSN, []string{"tandem.yml:2", "sla.target", `"soon" is not a duration`}},
		{"unknown key far from any", "targets:\n  budget: 5\n", withDSN, []string{"tandem.yml:2", "targets.budget", "known here:", "revenue"}},
		{"bad duration in a list", "databases:\n  crm: {watermark_overlap: 5 minutes}\n", withDSN, []string{"databases.crm.watermark_overlap", `"5 minutes"`}},
		{"missing DSN variable", "databases:\n  crm:\n    dsn_env: NOPE\n", env(nil), []string{"tandem.yml:3", "databases.crm.dsn_env", "NOPE is not set"}},
		{"both DSN sources", "databases:\n  crm: {dsn_env: A, dsn_file: /x}\n", withDSN, []string{"databases.crm.dsn_file", "not both"}},
		{"poll too fast", "databases:\n  crm: {poll_interval: 10ms}\n", withDSN, []string{"databases.crm.poll_interval"}},
		{"timeout over interval", "databases:\n  crm: {poll_interval: 10s, query_timeout: 1m}\n", withDSN, []string{"databases.crm.query_timeout", "must not exceed"}},
		{"bad driver", "databases:\n  crm: {driver: oracle}\n", withDSN, []string{"databases.crm.driver", "oracle"}},
		{"unknown query", "databases:\n  crm:\n    queries:\n      deals: SELECT 1\n", withDSN, []string{"tandem.yml:4", "databases.crm.queries.deals", "opportunities"}},
		{"bad stage in map", "funnel:\n  status_map:\n    Nurture: warm\n", withDSN, []string{"funnel.status_map.Nurture", "warm"}},
		{"clock start", "sla: {clock_start: won}\n", withDSN, []string{"sla.clock_start", "lead, mql or sql"}},
		{"no touch kinds", "sla: {touch_kinds: []}\n", withDSN, []string{"sla.touch_kinds"}},
		{"time zone", "targets: {timezone: Mars/Olympus}\n", withDSN, []string{"targets.timezone", "Mars/Olympus"}},
		{"fiscal month", "targets: {fiscal_year_start_month: 13}\n", withDSN, []string{"targets.fiscal_year_start_month"}},
		{"currency", "targets: {reporting_currency: dollars}\n", withDSN, []string{"targets.reporting_currency"}},
		{"rate", "targets: {currency_rates: {EUR: cheap}}\n", withDSN, []string{"targets.currency_rates.EUR"}},
		{"period name", "targets: {revenue: {2026: '100'}}\n", withDSN, []string{"targets.revenue.2026", "FY<year>"}},
		{"negative target", "targets: {revenue: {FY2026: '-5'}}\n", withDSN, []string{"targets.revenue.FY2026"}},
		{"label cap", "labels: {source: {max_values: 0}}\n", withDSN, []string{"labels.source.max_values"}},
		{"DSN file that never ends", "databases:\n  crm: {dsn_file: /dev/zero}\n", withDSN, []string{"databases.crm.dsn_file", "not a DSN"}},
		{"timeout PostgreSQL refuses", "databases:\n  crm: {poll_interval: 999999h, query_timeout: 999999h}\n", withDSN, []string{"databases.crm.query_timeout", "statement_timeout"}},
		{"explicit zero interval", "databases:\n  crm: {poll_interval: 0s}\n", withDSN, []string{"databases.crm.poll_interval", "at least 1s"}},
		{"explicit zero timeout", "databases:\n  crm: {query_timeout: 0s}\n", withDSN, []string{"databases.crm.query_timeout", "positive"}},
		{"explicit zero connections", "databases:\n  crm: {max_open_connections: 0}\n", withDSN, []string{"databases.crm.max_open_connections"}},
		{"second document", "databases:\n  crm: {}\n---\nsla: {target: -1h}\n", withDSN, []string{"tandem.yml:3", "second YAML document"}},
		{"multi-statement query", "databases:\n  crm:\n    queries:\n      owners: 'COMMIT; SELECT id, name, sales_team, region FROM owners'\n", withDSN, []string{"databases.crm.queries.owners", "more than one SQL statement"}},
		{"unparseable DSN", "databases:\n  crm: {dsn_env: BAD}\n", env(map[string]string{"BAD": "postgres://u:hunter2@db:5432x/crm"}), []string{"databases.crm.dsn_env", "BAD", "port"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yml), "tandem.yml", c.env)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// Explicit values are taken as written, 0 included; only absent keys get defaults.
func TestExplicitValuesAreKept(t *testing.T) {
	c, err := Parse([]byte("databases:\n  crm: {watermark_overlap: 0s, poll_interval: 10s}\n"), "tandem.yml", withDSN)
	if err != nil {
		t.Fatal(err)
	}
	d := c.DB(source.CRM)
	if d.WatermarkOverlap != 0 {
		t.Errorf("watermark_overlap: 0s became %s", d.WatermarkOverlap)
	}
	if d.QueryTimeout != 10*time.Second || d.MaxOpenConns != 2 {
		t.Errorf("defaults next to poll_interval 10s: query_timeout %s, max_open_connections %d", d.QueryTimeout, d.MaxOpenConns)
	}
}

func TestDSNFromFileAndSecrecy(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "dsn")
	if err := os.WriteFile(f, []byte("postgres://u:s3cret@db/crm\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(fmt.Sprintf("databases:\n  crm: {dsn_file: %s}\n", f)), "t.yml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := c.DB(source.CRM)
	if d.DSN.Reveal() != "postgres://u:s3cret@db/crm" {
		t.Fatalf("DSN = %q", d.DSN.Reveal())
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "dsn", d.DSN, "db", d)
	for _, s := range []string{fmt.Sprint(d.DSN), fmt.Sprintf("%v %+v %#v %s", d, d, d.DSN, d.DSN), logged.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func TestTargets(t *testing.T) {
	c, err := Parse([]byte(`targets:
  timezone: Europe/Berlin
  fiscal_year_start_month: 2
  currency_rates: {eur: "1.08"}
  revenue: {FY2027: "1000000.02", FY2027-Q2: "300000"}
`), "t.yml", withDSN)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	q1 := c.Calendar.Period(fiscal.Quarter, now)
	q2 := c.Calendar.Period(fiscal.Quarter, now.AddDate(0, 3, 0))
	y := c.Calendar.Period(fiscal.Year, now)
	for _, x := range []struct {
		p    fiscal.Period
		want string
	}{{q1, "250000.01"}, {q2, "300000.00"}, {y, "1000000.02"}} {
		got, ok := c.TargetFor(x.p)
		if !ok || got.String() != x.want {
			t.Errorf("target of %s = %v %v, want %s", x.p.Name, got, ok, x.want)
		}
	}
	if _, ok := c.TargetFor(c.Calendar.Period(fiscal.Year, now.AddDate(1, 0, 0))); ok {
		t.Error("FY2028 has no target")
	}
	if r, ok := c.Rate("EUR"); !ok || r.String() != "1.08" {
		t.Errorf("rate EUR = %v %v", r, ok)
	}
	if _, ok := c.Rate(""); !ok {
		t.Error("an empty currency is the reporting currency")
	}
}

// FuzzParse: no input crashes the loader, and whatever it accepts is valid.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "databases: {crm: {poll_interval: 1m}}", "sla: {target: 1h}", "targets: {revenue: {FY2026: 1}}", "labels: {owner: {enabled: true, max_values: 3}}", "{", "- a\n- b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "dsn_file") {
			t.Skip("reads a file the input names: device files can block (a FIFO, /dev/stdin)")
		}
		c, err := Parse([]byte(s), "fuzz.yml", withDSN)
		if err != nil {
			return
		}
		if c.DB(source.CRM) == nil || c.SLA.Target <= 0 || c.Location == nil {
			t.Fatalf("accepted an invalid config: %q", s)
		}
	})
}

// A user's entry overrides the built-in one of the same name in any case, every time (not by
// map iteration order).
func TestUserMappingOverridesBuiltIn(t *testing.T) {
	for i := 0; i < 20; i++ {
		c, err := Parse([]byte("databases: {crm: {dsn_env: X}}\nfunnel:\n  status_map: {\" MQL \": sql}\n  stage_probability: {Proposal: 0.55}\n  default_stage_probability: 0.05\n"),
			"t.yml", func(string) string { return "postgres://localhost/x" })
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := c.StatusMap.Stage("mql"); s != funnel.SQL {
			t.Fatalf("status mql maps to %s, want the user's sql", s)
		}
		if p, _ := c.Probability.Of("proposal", 0); p != 5500 {
			t.Fatalf("stage proposal weighs %d, want the user's 5500", p)
		}
		if c.UnknownStage != 500 {
			t.Fatalf("default_stage_probability = %d, want 500", c.UnknownStage)
		}
	}
}

func TestStageProbabilityNamesTheField(t *testing.T) {
	for yml, field := range map[string]string{
		"funnel: {stage_probability: {Demo: 1.5}}": "funnel.stage_probability.Demo",
		"funnel: {stage_probability: {Demo: 50%}}": "funnel.stage_probability.Demo",
		"funnel: {default_stage_probability: -1}":  "funnel.default_stage_probability",
	} {
		_, err := Parse([]byte("databases: {crm: {dsn_env: X}}\n"+yml+"\n"), "t.yml", func(string) string { return "postgres://localhost/x" })
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %v, want one naming %s", yml, err, field)
		}
	}
}
