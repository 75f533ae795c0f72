package exporter_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/metrics"
)

func scrapeText(t *testing.T, e *exporter.Exporter, fast bool) string {
	t.Helper()
	h := e.StandardHandler(0)
	if fast {
		h = e.Handler(0)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := srv.Client().Get(srv.URL)
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseText(t *testing.T, text string) map[string]string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not valid text exposition: %v", err)
	}
	out := map[string]string{}
	for name, mf := range fams {
		if strings.HasPrefix(name, "tandem_") {
			out[name] = mf.String()
		}
	}
	return out
}

// The fast /metrics handler (snapshots written straight to text once per poll, live health)
// serves exactly what the standard client_golang handler serves, escaping included, and promtool
// accepts it.
func TestFastScrapeEqualsStandard(t *testing.T) {
	w := newWorld(t, 3, 500, slaAttempts, ordinary)
	// Label values that the text format must escape: a quote, a backslash, a line break.
	if _, err := w.crm.Exec(`UPDATE leads SET source = E'web "form" \\ x\ny' WHERE id IN (1, 2, 3)`); err != nil {
		t.Fatal(err)
	}
	e := w.exporter()
	poll(t, e)
	fast, standard := scrapeText(t, e, true), scrapeText(t, e, false)
	f, s := parseText(t, fast), parseText(t, standard)
	if !strings.Contains(fast, `source="web \"form\" \\ x\ny"`) {
		t.Error("the escaped label value is not in the fast handler's output")
	}
	if len(f) < 40 || len(f) != len(s) {
		t.Fatalf("%d tandem families from the fast handler, %d from the standard one", len(f), len(s))
	}
	// Durations differ by poll, and the mapped memory by moment: the stores of every tally in
	// the process (the other tests' too) map and unmap blocks at any time.
	moving := func(name string) bool {
		return strings.HasSuffix(name, "_duration_seconds") || name == metrics.ExporterMapped
	}
	for name, want := range s {
		if moving(name) {
			continue
		}
		if f[name] != want {
			t.Errorf("%s differs between the fast and the standard handler", name)
		}
	}
	again := parseText(t, scrapeText(t, e, true))
	for name, want := range f {
		if !moving(name) && again[name] != want {
			t.Errorf("%s differs on the second (cached) scrape", name)
		}
	}
	// After a poll that changed some families and left others as they were (the fast handler
	// writes those from the text it kept for them), the two handlers still agree.
	if _, err := w.crm.Exec(`UPDATE leads SET region = 'EMEA', updated_at = now() WHERE id IN (SELECT id FROM leads WHERE region <> 'EMEA' ORDER BY id LIMIT 5)`); err != nil {
		t.Fatal(err)
	}
	poll(t, e)
	f2, s2 := parseText(t, scrapeText(t, e, true)), parseText(t, scrapeText(t, e, false))
	changed := 0
	for name, want := range s2 {
		if moving(name) {
			continue
		}
		if f2[name] != want {
			t.Errorf("%s differs between the fast and the standard handler after a second poll", name)
		}
		if f[name] != want {
			changed++
		}
	}
	if changed == 0 || changed == len(s2) {
		t.Errorf("the second poll changed %d of %d families: the test wants some changed and some not", changed, len(s2))
	}
	// gzip when asked (as Prometheus asks), identity otherwise; both the same exposition.
	srv := httptest.NewServer(e.Handler(0))
	defer srv.Close()
	get := func(encoding string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	resp, zipped := get("gzip")
	_, plain := get("")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(zipped)*5 > len(plain) {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q, %d bytes against %d plain", resp.Header.Get("Content-Encoding"), len(zipped), len(plain))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	u, p := parseText(t, string(unzipped)), parseText(t, string(plain))
	for name, want := range p {
		if !strings.HasSuffix(name, "_duration_seconds") && u[name] != want {
			t.Errorf("%s differs between the gzip and the identity response", name)
		}
	}
	if resp, _ := get("gzip;q=0, identity"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; CI must install it")
		}
		t.Skip("promtool not installed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(fast)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics on /metrics: %v\n%s", err, out)
	}
}

// Asked for OpenMetrics (as Prometheus does when configured to), /metrics answers with it, and
// Prometheus' own OpenMetrics parser reads the whole body up to # EOF.
func TestOpenMetricsWhenAsked(t *testing.T) {
	w := newWorld(t, 5, 300, "", ordinary)
	e := w.exporter()
	poll(t, e)
	srv := httptest.NewServer(e.Handler(0))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !bytes.HasSuffix(body, []byte("# EOF\n")) {
		t.Fatal("no # EOF at the end")
	}
	p := textparse.NewOpenMetricsParser(body, labels.NewSymbolTable())
	samples := 0
	for {
		et, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("OpenMetrics parser: %v", err)
		}
		if et == textparse.EntrySeries {
			samples++
		}
	}
	if samples < 1000 {
		t.Errorf("only %d samples parsed", samples)
	}
}
