//go:build soak

package main_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/testdb"
)

// TestSoak (make soak): the exporter against PostgreSQL with live simulated writes and a scrape
// every second for SOAK_DURATION (default 3m). It asserts flat memory, no goroutine or
// connection leak, every poll finishing within its interval and no failed poll, and prints the
// figures, scrape latency included.
func TestSoak(t *testing.T) {
	duration := 3 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil {
		duration = d
	}
	bin := build(t)
	url := testdb.New(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := demo.Load(ctx, db, db, demo.Options{Seed: 5, Leads: 20000, Now: time.Now(), Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	dsn := url + "&application_name=tandem-soak"
	cfg := writeConfig(t, `databases:
  crm: {dsn_env: T_DSN, poll_interval: 5s, query_timeout: 5s, max_open_connections: 2}
  campaigns: {dsn_env: T_DSN, poll_interval: 5s, query_timeout: 5s, max_open_connections: 2}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`)
	cmd := exec.Command(bin, "--config.file", cfg)
	cmd.Env = append(os.Environ(), "T_DSN="+dsn)
	addr, _ := startListening(t, cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		cmd.Wait()                          //nolint:errcheck
	}()
	scrapeUntil(t, "http://"+addr+"/metrics", `tandem_up{database="crm"} 1`, `tandem_up{database="campaigns"} 1`)

	sim, err := demo.NewSimulator(ctx, db, db, 77)
	if err != nil {
		t.Fatal(err)
	}
	go sim.Run(ctx, time.Second, time.Now, func(err error) { t.Logf("simulator: %v", err) })

	type sample struct{ heap, rss, goroutines, conns, pollSeconds, polls float64 }
	var samples []sample
	var latencies []time.Duration
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		start := time.Now()
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape failed: %v", err)
		}
		m := parse(resp)
		latencies = append(latencies, time.Since(start))
		var conns float64
		if err := db.Get(&conns, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tandem-soak'"); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{m["go_memstats_heap_alloc_bytes"], m["process_resident_memory_bytes"], m["go_goroutines"], conns,
			max(m[`tandem_poll_duration_seconds{database="crm"}`], m[`tandem_poll_duration_seconds{database="campaigns"}`]),
			m[`tandem_polls_total{database="crm"}`]})
		if f := m[`tandem_poll_failures_total{database="crm"}`] + m[`tandem_poll_failures_total{database="campaigns"}`]; f > 0 {
			t.Errorf("%v polls failed", f)
		}
		time.Sleep(time.Second - time.Since(start))
	}
	third := len(samples) / 3
	mean := func(s []sample, f func(sample) float64) float64 {
		total := 0.0
		for _, x := range s {
			total += f(x)
		}
		return total / float64(len(s))
	}
	heap := func(x sample) float64 { return x.heap }
	rss := func(x sample) float64 { return x.rss }
	firstHeap, lastHeap := mean(samples[:third], heap), mean(samples[len(samples)-third:], heap)
	var maxG, minG, maxConns, maxPoll, maxRSS float64 = 0, 1e9, 0, 0, 0
	for _, x := range samples {
		maxG, minG, maxConns, maxPoll, maxRSS = max(maxG, x.goroutines), min(minG, x.goroutines), max(maxConns, x.conns), max(maxPoll, x.pollSeconds), max(maxRSS, x.rss)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	p := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	polls := samples[len(samples)-1].polls - samples[0].polls
	report := fmt.Sprintf(`soak: %s, %d scrapes (one a second), simulated writes every second, 20,000 leads
  heap in use: first third %.1f MiB, last third %.1f MiB (%+.1f%%)
  RSS: mean first third %.1f MiB, max %.1f MiB
  goroutines: %v to %v
  database connections: at most %v (pool limit 2 per database)
  slowest poll: %.3fs (interval 5s); CRM polls in the run: %v
  /metrics latency: p50 %s, p99 %s`, duration, len(samples), firstHeap/(1<<20), lastHeap/(1<<20), (lastHeap/firstHeap-1)*100,
		mean(samples[:third], rss)/(1<<20), maxRSS/(1<<20), minG, maxG, maxConns, maxPoll, polls, p(0.5).Round(time.Microsecond), p(0.99).Round(time.Microsecond))
	fmt.Println(report)
	if lastHeap > 1.25*firstHeap {
		t.Errorf("heap grew %.0f%%", (lastHeap/firstHeap-1)*100)
	}
	if maxG-minG > 5 {
		t.Errorf("goroutines went from %v to %v", minG, maxG)
	}
	if maxConns > 4 {
		t.Errorf("%v connections open: the pool leaks", maxConns)
	}
	if maxPoll >= 5 {
		t.Errorf("a poll took %.1fs, longer than its 5s interval", maxPoll)
	}
	// Scrape latency is reported, not asserted here: its targets belong to the benchmark (make bench).
}

func parse(resp *http.Response) map[string]float64 {
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, " ")
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
