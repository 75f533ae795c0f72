package alerting

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/config"
)

const (
	rulesFile     = "../deploy/prometheus/rules/tandem.rules.yml"
	rulesTestFile = "../deploy/prometheus/tests/tandem.rules.test.yml"
	rulesLongFile = "../deploy/prometheus/tests/tandem.rules.long.test.yml"
	amConfig      = "../deploy/alertmanager/alertmanager.yml"
	runbooks      = "../docs/runbooks.md"
)

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; CI must install it (.ci/run)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// The committed rules are what the generator writes.
func TestRulesFileIsCurrent(t *testing.T) {
	want, err := YAML(Build(Defaults()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("deploy/prometheus/rules/tandem.rules.yml is out of date: run go generate ./alerting")
	}
	want, err = PrometheusRuleYAML(Build(Defaults()))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile("../deploy/kubernetes/generated/prometheusrule.yaml"); string(got) != string(want) {
		t.Fatal("deploy/kubernetes/generated/prometheusrule.yaml is out of date: run go generate ./alerting")
	}
}

// Every alert can be routed, explained and acted on.
func TestAlertsAreComplete(t *testing.T) {
	doc, err := os.ReadFile(runbooks)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range Build(Defaults()).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			seen[r.Alert] = true
			team := r.Labels["team"]
			if team != "sales" && team != "marketing" && team != "ops" && !strings.Contains(team, "marketing") {
				t.Errorf("%s: team label %q", r.Alert, team)
			}
			if s := r.Labels["severity"]; s != "page" && s != "ticket" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "dashboard", "runbook_url"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if !strings.Contains(string(doc), "\n## "+r.Alert+"\n") {
				t.Errorf("%s: no section in docs/runbooks.md", r.Alert)
			}
			if !strings.HasSuffix(r.Annotations["runbook_url"], "#"+strings.ToLower(r.Alert)) {
				t.Errorf("%s: runbook_url %s does not point at its section", r.Alert, r.Annotations["runbook_url"])
			}
		}
	}
	for _, a := range Alerts {
		if !seen[a] {
			t.Errorf("alert %s is listed but not built", a)
		}
	}
	// The Alertmanager inhibitions name real alerts.
	am, err := os.ReadFile(amConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		InhibitRules []struct {
			SourceMatchers []string `yaml:"source_matchers"`
			TargetMatchers []string `yaml:"target_matchers"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(am, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, ir := range cfg.InhibitRules {
		for _, m := range append(ir.SourceMatchers, ir.TargetMatchers...) {
			names := strings.Trim(strings.TrimPrefix(strings.TrimPrefix(m, "alertname=~"), "alertname="), `"`)
			for _, n := range strings.Split(names, "|") {
				if !seen[n] {
					t.Errorf("inhibit rule names %q, which is not an alert", n)
				}
			}
		}
	}
}

func TestPromtoolCheckAndUnitTests(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile, rulesLongFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestAlertmanagerConfig(t *testing.T) {
	amtool := tool(t, "amtool")
	if out, err := exec.Command(amtool, "check-config", amConfig).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	for _, c := range []struct{ labels, receiver string }{
		{"team=sales severity=page alertname=" + AlertLeadsWaiting, "sales"},
		{"team=sales severity=ticket alertname=" + AlertComplianceLow, "sales-tickets"},
		{"team=sales severity=ticket alertname=" + AlertBacklog, "sales-tickets"},
		{"team=ops severity=page alertname=" + AlertExporterDown, "ops"},
		{"team=sales severity=ticket alertname=" + AlertDataStale + " database=crm", "sales-tickets"},
		{"team=marketing severity=ticket alertname=" + AlertInflowCollapsed, "marketing"},
		{"team=marketing severity=ticket alertname=" + AlertDataStale + " database=campaigns", "marketing"},
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + amConfig, "--verify.receivers=" + c.receiver}, strings.Fields(c.labels)...)
		if out, err := exec.Command(amtool, args...).CombinedOutput(); err != nil {
			t.Errorf("%s should route to %s: %v\n%s", c.labels, c.receiver, err, out)
		}
	}
}

// The Grafana URL in the alerts' links comes from the configuration (grafana.url).
func TestGrafanaURLFromConfig(t *testing.T) {
	c, err := config.Parse([]byte("grafana: {url: 'https://grafana.example.com/'}\n"), "tandem.yml", func(string) string { return "postgres://u@h/db" })
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, g := range Build(OptionsFrom(c)).Groups {
		for _, r := range g.Rules {
			if d, ok := r.Annotations["dashboard"]; ok {
				links++
				if !strings.HasPrefix(d, "https://grafana.example.com/d/") {
					t.Errorf("%s links to %s", r.Alert, d)
				}
			}
		}
	}
	if links < 5 {
		t.Errorf("only %d dashboard links", links)
	}
	if _, err := config.Parse([]byte("grafana: {url: 'grafana:3000'}\n"), "tandem.yml", func(string) string { return "postgres://u@h/db" }); err == nil || !strings.Contains(err.Error(), "grafana.url") {
		t.Errorf("a URL without scheme: %v", err)
	}
}
