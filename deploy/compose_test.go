package deploy_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/backfill"
)

// load reads docker-compose.yml with the compose-spec Go loader, as docker compose does.
func load(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithWorkingDirectory(".."), cli.WithName("tandem"), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

func TestComposeFileLoadsAndHangsTogether(t *testing.T) {
	p := load(t)
	for _, name := range []string{"postgres", "demo-load", "demo-traffic", "backfill", "backfill-blocks", "exporter", "prometheus", "alertmanager", "alert-receiver", "grafana"} {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %s missing", name)
		}
	}
	pinned := regexp.MustCompile(`^[^:]+:[0-9v][^:]*$`)
	for name, s := range p.Services {
		if s.Build == nil && !pinned.MatchString(s.Image) && s.Image != "tandem:local" {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		for dep := range s.DependsOn {
			if _, ok := p.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s, which does not exist", name, v.Source)
			}
		}
		for _, f := range s.EnvFiles {
			if _, err := os.Stat(f.Path); err != nil && f.Required {
				t.Errorf("%s: required env file %s missing", name, f.Path)
			}
		}
	}
	// Secrets come from env files: the compose file assigns no password or DSN itself.
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^[^#]*(PASSWORD|_DSN)\s*[:=]`).FindString(string(raw)); m != "" {
		t.Errorf("docker-compose.yml sets a secret itself: %q", m)
	}
	for _, name := range []string{"postgres", "exporter", "prometheus", "alertmanager", "grafana"} {
		if p.Services[name].HealthCheck == nil {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	if c := p.Services["exporter"].DependsOn["demo-load"].Condition; c != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("the exporter must wait for the demo data, not %q", c)
	}
	// The env files give the exporter its DSNs.
	env := p.Services["exporter"].Environment
	for _, k := range []string{"TANDEM_CRM_DSN", "TANDEM_CAMPAIGNS_DSN"} {
		if env[k] == nil || !strings.Contains(*env[k], "@postgres:5432/") {
			t.Errorf("exporter: %s = %v, want a DSN to the postgres service", k, env[k])
		}
	}
}

// Every host:port that a configuration names is a service of the compose file.
func TestConfigsReferToComposeServices(t *testing.T) {
	p := load(t)
	refs := map[string][]string{
		"../deploy/prometheus/prometheus.yml":                   {"exporter:9866", "alertmanager:9093"},
		"../deploy/grafana/provisioning/datasources/tandem.yml": {"prometheus:9090"},
		"../deploy/alertmanager/alertmanager.yml":               {"alert-receiver:9095"},
		"../deploy/compose/demo.env":                            {"postgres:5432"},
	}
	ports := map[string]string{"exporter": "9866", "alertmanager": "9093", "prometheus": "9090", "postgres": "5432", "alert-receiver": "9095"}
	hostPort := regexp.MustCompile(`([a-z][a-z0-9-]*):([0-9]{2,5})`)
	for file, want := range refs {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(raw), w) {
				t.Errorf("%s does not refer to %s", file, w)
			}
		}
		var live []string // comments hold examples, not references
		for _, line := range strings.Split(string(raw), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "#") {
				live = append(live, line)
			}
		}
		for _, m := range hostPort.FindAllStringSubmatch(strings.Join(live, "\n"), -1) {
			host, port := m[1], m[2]
			if host == "localhost" || host == "http" || host == "https" || net.ParseIP(host) != nil {
				continue
			}
			if _, ok := p.Services[host]; !ok {
				t.Errorf("%s refers to %s:%s, and there is no service %s", file, host, port, host)
				continue
			}
			if ports[host] != port {
				t.Errorf("%s refers to %s:%s; %s listens on %s", file, host, port, host, ports[host])
			}
		}
	}
	// Grafana serves the dashboards from where the provider looks for them.
	var prov struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	raw, _ := os.ReadFile("../deploy/grafana/provisioning/dashboards/tandem.yml")
	if err := yaml.Unmarshal(raw, &prov); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range p.Services["grafana"].Volumes {
		if v.Target == prov.Providers[0].Options.Path && strings.HasSuffix(v.Source, "deploy/grafana/dashboards") {
			found = true
		}
	}
	if !found {
		t.Errorf("grafana does not mount deploy/grafana/dashboards at %s", prov.Providers[0].Options.Path)
	}
}

func TestPrometheusConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool missing")
		}
		t.Skip("promtool missing")
	}
	if out, err := exec.Command(promtool, "check", "config", "../deploy/prometheus/prometheus.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// The image is built by `make build`, the command developers and CI use.
func TestDockerfileBuildsWithMake(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(raw)
	for _, want := range []string{"RUN make build", "USER nonroot", "HEALTHCHECK", "FROM gcr.io/distroless/static"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	mk, _ := os.ReadFile("../Makefile")
	if !strings.Contains(string(mk), "CGO_ENABLED=0") {
		t.Error("make build does not build static binaries")
	}
	for _, line := range strings.Split(d, "\n") {
		if strings.HasPrefix(line, "FROM ") && !regexp.MustCompile(`:[0-9a-z.-]+`).MatchString(line) {
			t.Errorf("unpinned base image: %s", line)
		}
	}
}

// The history is backfilled before Prometheus starts, into the volume Prometheus serves, for the
// series the live scrape makes (its job and target), and kept by Prometheus' retention.
func TestComposeBackfillsBeforePrometheus(t *testing.T) {
	p := load(t)
	bf, blocks, prom := p.Services["backfill"], p.Services["backfill-blocks"], p.Services["prometheus"]
	if bf.Name == "" || blocks.Name == "" {
		t.Fatal("services backfill and backfill-blocks missing")
	}
	flags := map[string]string{}
	for _, a := range bf.Command {
		k, v, _ := strings.Cut(a, "=")
		flags[k] = v
	}
	if bf.Command[0] != "backfill" || flags["--backfill.skip-existing"] != "" && flags["--backfill.skip-existing"] != "true" {
		t.Errorf("backfill runs %v, want the backfill command, skipping when already written", bf.Command)
	}
	if _, ok := flags["--backfill.skip-existing"]; !ok {
		t.Error("backfill does not skip a history already written: the stack would not start twice")
	}
	// The scrape's own labels.
	var pc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	raw, _ := os.ReadFile("../deploy/prometheus/prometheus.yml")
	if err := yaml.Unmarshal(raw, &pc); err != nil {
		t.Fatal(err)
	}
	job, target := pc.ScrapeConfigs[0].JobName, pc.ScrapeConfigs[0].StaticConfigs[0].Targets[0]
	if flags["--backfill.job"] != job || flags["--backfill.instance"] != target {
		t.Errorf("backfill labels job=%q instance=%q; the scrape's are job=%q instance=%q", flags["--backfill.job"], flags["--backfill.instance"], job, target)
	}
	// Order: demo data, backfill, blocks, Prometheus.
	for _, dep := range []struct {
		svc  types.ServiceConfig
		name string
	}{{bf, "demo-load"}, {blocks, "backfill"}, {prom, "backfill-blocks"}} {
		if c := dep.svc.DependsOn[dep.name].Condition; c != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s must wait for %s to complete, not %q", dep.svc.Name, dep.name, c)
		}
	}
	// The output lies on a volume backfill-blocks reads, and the blocks go where Prometheus'
	// TSDB is.
	mount := func(s types.ServiceConfig, volume string) string {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source == volume {
				return v.Target
			}
		}
		return ""
	}
	out := flags["--backfill.output"]
	bfDir, blDir := mount(bf, "backfill-data"), mount(blocks, "backfill-data")
	if bfDir == "" || blDir == "" || !strings.HasPrefix(out, bfDir+"/") {
		t.Fatalf("backfill writes %s; backfill-data is mounted at %q (backfill) and %q (backfill-blocks)", out, bfDir, blDir)
	}
	script := strings.Join(blocks.Command, " ")
	file := blDir + strings.TrimPrefix(out, bfDir)
	tsdb := ""
	retention := ""
	for _, a := range prom.Command {
		if v, ok := strings.CutPrefix(a, "--storage.tsdb.path="); ok {
			tsdb = v
		}
		if v, ok := strings.CutPrefix(a, "--storage.tsdb.retention.time="); ok {
			retention = v
		}
	}
	if mount(blocks, "prometheus-data") != tsdb || mount(prom, "prometheus-data") != tsdb {
		t.Errorf("backfill-blocks writes prometheus-data at %q, Prometheus reads it at %q (tsdb %q)", mount(blocks, "prometheus-data"), mount(prom, "prometheus-data"), tsdb)
	}
	if !strings.Contains(script, "promtool tsdb create-blocks-from openmetrics --max-block-duration="+backfill.BlockDuration+" "+file+" "+tsdb) {
		t.Errorf("backfill-blocks runs %q, want promtool on %s into %s", script, file, tsdb)
	}
	if blocks.Image != prom.Image {
		t.Errorf("promtool from %s, Prometheus %s: the blocks must be made by the Prometheus that reads them", blocks.Image, prom.Image)
	}
	if d, err := model.ParseDuration(retention); err != nil || time.Duration(d) < backfill.DefaultPlan.Range {
		t.Errorf("Prometheus keeps %q, less than the %s of history backfilled", retention, backfill.DefaultPlan.Range)
	}
}
