package main_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/gcpercent"
	"github.com/tandem-oss/tandem/internal/heaplimit"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/metrics"
)

// binDir holds the exporter binary the tests build once; removed when they end.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tandem-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	testdb.Main(m, func() { os.RemoveAll(dir) })
}

var (
	buildOnce sync.Once
	buildErr  error
)

func build(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(binDir, "tandem-exporter")
	buildOnce.Do(func() {
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// logBuffer is a process's output, safe to read while the process writes it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listeningOn is exporter-toolkit's log line once the exporter has bound its address.
var listeningOn = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// startListening starts an exporter command on 127.0.0.1:0 and returns the address the kernel
// gave it, from its "Listening on" log line, with its output. A port picked free beforehand
// and passed on could be taken before the exporter bound it: once, in CI, a test of another
// package took one and answered the demo's first scrape.
func startListening(t *testing.T, cmd *exec.Cmd) (addr string, logs *logBuffer) {
	t.Helper()
	logs = &logBuffer{}
	cmd.Args = append(cmd.Args, "--web.listen-address", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listeningOn.FindStringSubmatch(logs.String()); m != nil {
			return m[1], logs
		}
	}
	cmd.Process.Kill() //nolint:errcheck
	t.Fatalf("the exporter never said where it listens:\n%s", logs.String())
	return "", nil
}

func writeConfig(t *testing.T, text string) string {
	f := filepath.Join(t.TempDir(), "tandem.yml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBadConfigStopsAtStartup(t *testing.T) {
	bin := build(t)
	cfg := writeConfig(t, "databases:\n  crm:\n    dsn_env: TANDEM_TEST_NO_SUCH_VAR\nsla:\n  target: -1h\n")
	out, err := exec.Command(bin, "--config.file", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("started with a bad config:\n%s", out)
	}
	for _, want := range []string{"databases.crm.dsn_env", "TANDEM_TEST_NO_SUCH_VAR is not set", "sla.target", "tandem.yml:5"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadRuntimeFlagsStopAtStartup(t *testing.T) {
	bin := build(t)
	for _, bad := range []struct{ flag, value string }{
		{"--auto-gomemlimit.ratio", "0"}, {"--auto-gomemlimit.ratio", "1.5"}, {"--auto-gomemlimit.ratio", "-0.2"},
		{"--runtime.gogc", "0"}, {"--runtime.gogc", "-5"},
	} {
		out, err := exec.Command(bin, bad.flag+"="+bad.value, "--config.file", "/nonexistent.yml").CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte(bad.flag)) {
			t.Errorf("%s=%s: err %v, output lacks the flag's name:\n%s", bad.flag, bad.value, err, out)
		}
	}
}

// withPassword gives the test database URL a password, so the test can check it never leaks
// (trust authentication ignores it).
func withPassword(u string) string {
	return strings.Replace(u, "postgres@", "postgres:Sup3rSecretPw@", 1)
}

func TestServeCheckAndShutdown(t *testing.T) {
	bin := build(t)
	url := withPassword(testdb.New(t))
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := demo.Load(context.Background(), db, db,
		demo.Options{Seed: 4, Leads: 800, Now: time.Now(), Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `databases:
  crm: {dsn_env: T_CRM, poll_interval: 2s, query_timeout: 2s}
  campaigns: {dsn_env: T_CAMP, poll_interval: 2s, query_timeout: 2s}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`)
	env := append(os.Environ(), "T_CRM="+url, "T_CAMP="+url)

	check := exec.Command(bin, "--config.file", cfg, "--config.check")
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("configuration and queries OK")) {
		t.Fatalf("--config.check: %v\n%s", err, out)
	}
	badQuery := writeConfig(t, `databases:
  crm:
    dsn_env: T_CRM
    queries: {owners: "SELECT id, name FROM owners"}
`)
	check = exec.Command(bin, "--config.file", badQuery, "--config.check")
	check.Env = env
	if out, err := check.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("missing column(s) sales_team, region")) {
		t.Fatalf("--config.check accepted a query with missing columns: %v\n%s", err, out)
	}

	// Without --config.check too, a wrong query stops the exporter at start-up, naming it.
	start := exec.Command(bin, "--config.file", badQuery, "--web.listen-address", "127.0.0.1:0")
	start.Env = env
	if out, err := start.CombinedOutput(); err == nil || !bytes.Contains(out, []byte("tandem.yml:4: databases.crm.queries.owners")) {
		t.Fatalf("started with a wrong query: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "--config.file", cfg, "--log.level", "debug")
	const limit = 1 << 30
	cmd.Env = append(env, fmt.Sprintf("GOMEMLIMIT=%d", limit))
	addr, logs := startListening(t, cmd)
	defer cmd.Process.Kill() //nolint:errcheck
	// Both databases polled (the campaign database is polled first, the CRM right after).
	body := scrapeUntil(t, "http://"+addr+"/metrics", `tandem_up{database="campaigns"} 1`, `tandem_up{database="crm"} 1`)
	for _, want := range []string{"tandem_leads_created{", "tandem_exporter_build_info{", "tandem_revenue_won{"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// --runtime.gogc's default is in effect (the Go collector reports the runtime's own).
	if want := fmt.Sprintf("go_gc_gogc_percent %d\n", gcpercent.Default); os.Getenv("GOGC") == "" && !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	// GOMEMLIMIT is a limit on the whole process: the runtime's is what the stores' mapped blocks
	// leave of it, within the step it follows them by.
	mapped, runtimeLimit := sample(t, body, metrics.ExporterMapped), sample(t, body, "go_gc_gomemlimit_bytes")
	if mapped < heaplimit.Step {
		t.Errorf("tandem_exporter_mapped_bytes %v: the stores map nothing", mapped)
	}
	if got := limit - runtimeLimit; got < mapped-heaplimit.Step || got > mapped+heaplimit.Step {
		t.Errorf("the runtime's memory limit is %v, GOMEMLIMIT less %v; %v is mapped", runtimeLimit, got, mapped)
	}
	// The landing page links only to what is served: no pprof handlers, so no pprof links.
	landing := scrapeUntil(t, "http://"+addr+"/", "Tandem exporter")
	if strings.Contains(landing, "debug/pprof") {
		t.Error("the landing page links to /debug/pprof, which is not served")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no graceful shutdown within 15s")
	}
	all := logs.String() + body
	for _, secret := range []string{"Sup3rSecretPw", url} {
		if strings.Contains(all, secret) {
			t.Errorf("the DSN or its password appears in the logs or /metrics")
		}
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", logs.String())
	}
}

// sample is the value of the unlabelled series name in an exposition.
func sample(t *testing.T, body, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}

// The embedded demo: no configuration and no PostgreSQL, just `--demo`. It runs at a simulated
// instant (the first second of a fiscal quarter), has a revenue target for the period it is in,
// and leaves nothing behind in the temporary directory.
func TestDemoMode(t *testing.T) {
	bin := build(t)
	tmp := t.TempDir()
	var start instants.Instant
	for _, in := range instants.All(time.Now(), time.January) {
		if in.Name == "quarter-first-second" {
			start = in
		}
	}
	cmd := exec.Command(bin, "--demo", "--demo.leads", "1500", "--demo.now", start.At.UTC().Format(time.RFC3339))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	addr, _ := startListening(t, cmd)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
			cmd.Wait()                          //nolint:errcheck
		}
	}
	defer stop()
	body := scrapeUntil(t, "http://"+addr+"/metrics", `tandem_up{database="campaigns"} 1`, `tandem_up{database="crm"} 1`)
	var created float64
	seriesCount := 0
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "tandem_") {
			seriesCount++
		}
		if strings.HasPrefix(line, "tandem_leads{") { // every lead, in its current stage
			var v float64
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			created += v
		}
		// The SQLite path decodes every row: only the demo's deliberately dirty rows are flagged.
		if strings.HasPrefix(line, "tandem_data_quality_problem_rows{") && (strings.Contains(line, `check="bad_value"`) || strings.Contains(line, `check="null_required"`)) {
			t.Errorf("demo rows not decoded: %s", line)
		}
		if strings.HasPrefix(line, "tandem_data_quality_revenue_target_missing{") && !strings.HasSuffix(line, " 0") {
			t.Errorf("the demo lacks a revenue target at %s: %s", start, line)
		}
	}
	if created < 1500 {
		t.Errorf("demo published %v leads, want at least the 1500 generated", created)
	}
	// The series budget at the default label caps (docs/metrics.md).
	if seriesCount > 25000 {
		t.Errorf("the demo publishes %d tandem series, over the budget of 25,000", seriesCount)
	}
	t.Logf("%d tandem series", seriesCount)
	if !strings.Contains(body, "tandem_data_quality_revenue_target_missing{") {
		t.Error("no tandem_data_quality_revenue_target_missing")
	}
	stop()
	left, err := filepath.Glob(filepath.Join(tmp, "tandem-demo-*"))
	if err != nil || len(left) > 0 {
		t.Errorf("the demo left %v behind (%v)", left, err)
	}
}

// scrapeUntil scrapes until the body contains every wanted string.
func scrapeUntil(t *testing.T, url string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			missing := false
			for _, w := range want {
				missing = missing || !strings.Contains(body, w)
			}
			if !missing {
				return body
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q; last body:\n%.2000s", url, want, body)
	return ""
}
