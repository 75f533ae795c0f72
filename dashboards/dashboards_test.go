package dashboards_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/dashboards"
)

const dir = "../deploy/grafana/dashboards"

// panel is the part of a panel the tests read.
type panel struct {
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	GridPos     struct{ X, Y, W, H int } `json:"gridPos"`
	Datasource  struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr   string `json:"expr"`
		Format string `json:"format"`
		Legend string `json:"legendFormat"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			NoValue    string `json:"noValue"`
			Decimals   *int   `json:"decimals"`
			Thresholds struct {
				Steps []struct {
					Color string `json:"color"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Options map[string]any `json:"options"`
}

type dash struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Editable   bool    `json:"editable"`
	Panels     []panel `json:"panels"`
	Links      []any   `json:"links"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Hide  int    `json:"hide"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func load(t *testing.T, file string) dash {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var d dash
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

func TestGeneratedDashboardsAreCurrent(t *testing.T) {
	for _, d := range dashboards.All {
		want, err := dashboards.Render(d, dashboards.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{dir, "../deploy/kubernetes/generated/dashboards"} {
			got, err := os.ReadFile(filepath.Join(out, d.File))
			if err != nil || string(got) != string(want) {
				t.Errorf("%s/%s is out of date: run go generate ./dashboards", out, d.File)
			}
		}
	}
}

func TestPanelsAreDefined(t *testing.T) {
	for _, d := range dashboards.All {
		db := load(t, d.File)
		if db.UID != d.UID || db.Editable || len(db.Links) != len(dashboards.All)-1 {
			t.Errorf("%s: uid %q editable %v links %d", d.File, db.UID, db.Editable, len(db.Links))
		}
		if len(db.Templating.List) == 0 || db.Templating.List[0].Name != "datasource" {
			t.Errorf("%s: no $datasource variable", d.File)
		}
		for _, p := range db.Panels {
			where := d.File + ": " + p.Title
			if p.Description == "" {
				t.Errorf("%s: no description", where)
			}
			if p.Type != "table" && p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit", where)
			}
			if p.Datasource.UID != "${datasource}" && p.Datasource.UID != dashboards.DatasourceUID {
				t.Errorf("%s: datasource %q is neither ${datasource} nor the provisioned one", where, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("%s: off the grid: %+v", where, p.GridPos)
			}
		}
	}
	// The wall: one 1920×1080 screen, nothing to pick.
	wall := load(t, "wall.json")
	bottom := 0
	for _, p := range wall.Panels {
		bottom = max(bottom, p.GridPos.Y+p.GridPos.H)
	}
	// A grid row is 30 px plus an 8 px margin: 28 rows fill a 1080p kiosk screen (1,056 px);
	// fewer than 26 leave its bottom empty.
	if bottom > 28 || bottom < 26 {
		t.Errorf("the wall is %d grid rows high: on a 1080p screen it scrolls (> 28) or leaves its bottom empty (< 26)", bottom)
	}
	for _, v := range wall.Templating.List {
		if v.Hide != 2 {
			t.Errorf("the wall asks for variable %s", v.Name)
		}
	}
}

var grafanaVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// Expand substitutes Grafana's variables as Grafana would before sending a query.
func Expand(expr, rng string) string {
	expr = strings.NewReplacer("$__range", rng, "$__rate_interval", "1m", "$__interval", "15s").Replace(expr)
	return grafanaVar.ReplaceAllStringFunc(expr, func(string) string { return ".*" })
}

func TestPromQLParses(t *testing.T) {
	n := 0
	for _, d := range dashboards.All {
		for _, p := range load(t, d.File).Panels {
			for _, q := range p.Targets {
				if _, err := parser.NewParser(parser.Options{}).ParseExpr(Expand(q.Expr, "1h")); err != nil {
					t.Errorf("%s: %s: %v\n%s", d.File, p.Title, err, q.Expr)
				}
				n++
			}
		}
	}
	if n < 60 {
		t.Errorf("only %d queries", n)
	}
}

func TestProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
		} `yaml:"datasources"`
	}
	readYAML(t, "../deploy/grafana/provisioning/datasources/tandem.yml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != dashboards.DatasourceUID || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("provisioned data source: %+v", ds)
	}
	var prov struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "../deploy/grafana/provisioning/dashboards/tandem.yml", &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" {
		t.Fatalf("dashboard provider: %+v", prov)
	}
	path := prov.Providers[0].Options.Path
	ini, err := os.ReadFile("../deploy/grafana/grafana.ini")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ini), "default_home_dashboard_path = "+path+"/wall.json") {
		t.Errorf("grafana.ini does not make %s/wall.json the home dashboard", path)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != len(dashboards.All) {
		t.Errorf("%d JSON files in %s, %d dashboards", len(files), dir, len(dashboards.All))
	}
	for _, d := range dashboards.All {
		if _, err := os.Stat(filepath.Join(dir, d.File)); err != nil {
			t.Errorf("provisioned dashboard missing: %v", err)
		}
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// Several CRMs: every dashboard has the job and instance variables, and every selector of every
// panel query filters on both (the wall hides them and adds every CRM up by default).
func TestEveryQueryPicksTheExporter(t *testing.T) {
	selectors := 0
	for _, d := range dashboards.All {
		db := load(t, d.File)
		vars := map[string]bool{}
		for _, v := range db.Templating.List {
			vars[v.Name] = true
		}
		if !vars["job"] || !vars["instance"] {
			t.Errorf("%s: no job and instance variables", d.File)
		}
		for _, p := range db.Panels {
			for _, q := range p.Targets {
				if strings.Contains(q.Expr, "vector(") {
					t.Errorf("%s: %q: vector() makes up a series: %s", d.File, p.Title, q.Expr)
				}
				expr, err := parser.NewParser(parser.Options{}).ParseExpr(Expand(q.Expr, "1h"))
				if err != nil {
					continue // TestPromQLParses reports it
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					vs, ok := n.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					selectors++
					has := map[string]bool{}
					for _, m := range vs.LabelMatchers {
						has[m.Name] = true
					}
					if !has["job"] || !has["instance"] {
						t.Errorf("%s: %q: %s does not filter on job and instance", d.File, p.Title, vs)
					}
					return nil
				})
			}
		}
	}
	if selectors < 100 {
		t.Errorf("only %d selectors checked", selectors)
	}
	for _, d := range dashboards.All {
		raw, err := os.ReadFile(filepath.Join(dir, d.File))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"query": "label_values(tandem_up{job=~\"$job\"}, instance)"`) &&
			!strings.Contains(string(raw), `label_values(tandem_up{job=~\"$job\"}, instance)`) {
			t.Errorf("%s: the instance variable does not follow the job", d.File)
		}
	}
}

// The team dashboards show the period picked: a period variable, and every period metric
// filtered on it or on a fixed window.
func TestPeriodVariable(t *testing.T) {
	for _, file := range []string{"marketing.json", "sales.json"} {
		db := load(t, file)
		found := false
		for _, v := range db.Templating.List {
			found = found || v.Name == "period"
		}
		if !found {
			t.Errorf("%s: no period variable", file)
		}
	}
}

// The dashboards follow the configuration's fiscal calendar (Grafana's fiscal time ranges).
func TestFiscalStartFromConfig(t *testing.T) {
	c, err := config.Parse([]byte("targets: {fiscal_year_start_month: 2}\n"), "tandem.yml", func(string) string { return "postgres://u@h/db" })
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dashboards.All {
		out, err := dashboards.Render(d, dashboards.OptionsFrom(c))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			FiscalYearStartMonth *int `json:"fiscalYearStartMonth"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.FiscalYearStartMonth == nil || *got.FiscalYearStartMonth != 1 { // Grafana counts from 0: February
			t.Errorf("%s: fiscalYearStartMonth %v, want 1 (February)", d.File, got.FiscalYearStartMonth)
		}
	}
}

// Counts read as counts: never unit "short" (which prints "1 K" for 1,042), and a count unit
// carries its decimals. A stat with several values sets an orientation and names each value, so
// every value shows with its name instead of only the first.
func TestUnitsAndOrientation(t *testing.T) {
	for _, d := range dashboards.All {
		for _, p := range load(t, d.File).Panels {
			u := p.FieldConfig.Defaults.Unit
			if u == "short" {
				t.Errorf("%s: %q: unit short abbreviates counts", d.File, p.Title)
			}
			if u == "none" && p.FieldConfig.Defaults.Decimals == nil {
				t.Errorf("%s: %q: a count without decimals", d.File, p.Title)
			}
			if p.Type != "stat" {
				continue
			}
			multi := len(p.Targets) > 1
			for _, q := range p.Targets {
				multi = multi || strings.Contains(q.Legend, "{{")
			}
			if !multi {
				continue
			}
			if o, _ := p.Options["orientation"].(string); o != "horizontal" && o != "vertical" {
				t.Errorf("%s: %q: a stat with several values has orientation %q", d.File, p.Title, o)
			}
			if tm, _ := p.Options["textMode"].(string); tm != "value_and_name" {
				t.Errorf("%s: %q: a stat with several values does not name them (textMode %q)", d.File, p.Title, tm)
			}
		}
	}
}

// Both teams' numbers on the wall carry their owner's goal colours: every ratio of a team is red,
// orange or green by a goal, and each side has such numbers; counts and amounts are plain text.
func TestWallColoursBothTeams(t *testing.T) {
	coloured := map[string]int{}
	for _, p := range load(t, "wall.json").Panels {
		team, _, ok := strings.Cut(p.Title, " · ")
		if !ok || (team != "Marketing" && team != "Sales") || p.Type != "stat" {
			continue
		}
		var colours []string
		for _, st := range p.FieldConfig.Defaults.Thresholds.Steps {
			colours = append(colours, st.Color)
		}
		got := strings.Join(colours, ",")
		switch u := p.FieldConfig.Defaults.Unit; {
		case u == "percentunit" || u == "x":
			if got != "red,orange,green" {
				t.Errorf("%q: a ratio coloured %q, not by a goal", p.Title, got)
			}
			coloured[team]++
		case u == "s":
			if got != "green,orange,red" {
				t.Errorf("%q: a duration coloured %q", p.Title, got)
			}
		case got != "text" || p.Options["colorMode"] != "none":
			t.Errorf("%q: a count or amount coloured %q (%v): it suggests a verdict it does not have", p.Title, got, p.Options["colorMode"])
		}
	}
	if coloured["Marketing"] == 0 || coloured["Sales"] == 0 {
		t.Errorf("goal-coloured numbers: %v; both teams need theirs", coloured)
	}
}
