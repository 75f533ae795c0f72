// Package promstack runs real Prometheus and Alertmanager binaries for end-to-end tests: each in
// its own temporary directory on a free loopback port, stopped when the test ends.
package promstack

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Binary finds one of the names on PATH; without it the test is skipped, or fails under CI.
func Binary(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("none of %v is installed; CI must install it (.ci/run)", names)
	}
	t.Skipf("none of %v installed", names)
	return ""
}

// FreeAddr returns a free loopback address.
func FreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Process is a running binary.
type Process struct {
	URL string
	log *os.File
}

// Log returns what the process printed so far, for failure messages.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.log.Name())
	return string(b)
}

func start(t *testing.T, bin, addr string, args ...string) *Process {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{URL: "http://" + addr, log: logf}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
		logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready:\n%s", filepath.Base(bin), p.Log())
	return nil
}

// Prometheus starts Prometheus with a configuration and rule files (name → content), which the
// configuration refers to by name.
func Prometheus(t *testing.T, config string, rules map[string][]byte) *Process {
	t.Helper()
	return PrometheusOn(t, "", config, rules)
}

// PrometheusOn is Prometheus on an existing TSDB directory (blocks made by promtool), keeping
// whatever it holds (retention 10 years); a new one if data is "".
func PrometheusOn(t *testing.T, data, config string, rules map[string][]byte) *Process {
	t.Helper()
	bin := Binary(t, "prometheus")
	dir := t.TempDir()
	if data == "" {
		data = filepath.Join(dir, "data")
	}
	for name, content := range rules {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	return start(t, bin, addr, "--config.file="+cfg, "--storage.tsdb.path="+data, "--storage.tsdb.retention.time=10y",
		"--web.listen-address="+addr, "--web.enable-lifecycle")
}

// Alertmanager starts Alertmanager with a configuration, clustering off.
func Alertmanager(t *testing.T, config string) *Process {
	t.Helper()
	bin := Binary(t, "prometheus-alertmanager", "alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	return start(t, bin, addr, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
}

// Sample is one instant-vector element from the HTTP API.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Query runs an instant query through Prometheus' HTTP API.
func (p *Process) Query(expr string) ([]Sample, error) {
	return p.QueryAt(expr, time.Time{})
}

// QueryAt is Query evaluated at an instant (now if zero).
func (p *Process) QueryAt(expr string, at time.Time) ([]Sample, error) {
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000))
	}
	resp, err := http.Get(p.URL + "/api/v1/query?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %s: %v: %s", expr, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, r.Error)
	}
	var out []Sample
	switch r.Data.ResultType {
	case "vector":
		err = json.Unmarshal(r.Data.Result, &out)
	case "scalar":
		var v [2]any
		err = json.Unmarshal(r.Data.Result, &v)
		out = []Sample{{Value: v}}
	default:
		return nil, fmt.Errorf("query %s: unexpected result type %s", expr, r.Data.ResultType)
	}
	return out, err
}

// Alert is an alert as Prometheus' /api/v1/alerts reports it.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// Alerts lists Prometheus' pending and firing alerts.
func (p *Process) Alerts() ([]Alert, error) {
	resp, err := http.Get(p.URL + "/api/v1/alerts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	return r.Data.Alerts, json.NewDecoder(resp.Body).Decode(&r)
}

// Eventually retries cond until it returns "" or the timeout passes, then fails with its last
// complaint.
func Eventually(t *testing.T, timeout time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %s", what, timeout, strings.TrimSpace(last))
}
