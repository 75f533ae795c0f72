package exporter_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/internal/promstack"
	"github.com/tandem-oss/tandem/metrics"
)

// The exporter is restarted twice while a real Prometheus scrapes it, on the same address, with
// no row changing: no business series ever falls (resets() over all of them is 0), none changes
// value (changes() is 0), and every one that was there before the restarts is there after. The
// exporter's own counters (polls, rows read) start again with each process, as any exporter's do.
func TestRestartsWhileScraped(t *testing.T) {
	promstack.Binary(t, "prometheus")
	w := newWorld(t, 71, 1500, slaAttempts, ordinary)
	w.cfg = reparse(t, w, strings.NewReplacer("poll_interval: 1m, query_timeout: 30s", "poll_interval: 1s, query_timeout: 1s").Replace(w.config())+slaAttempts)
	addr := promstack.FreeAddr(t)

	run := func() func() {
		e := w.exporter()
		ctx, cancel := context.WithCancel(context.Background())
		e.Start(ctx)
		var l net.Listener
		var err error
		for i := 0; i < 50; i++ { // the previous process's port may take a moment to free
			if l, err = net.Listen("tcp", addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: e.Handler(10), ReadHeaderTimeout: time.Second}
		go srv.Serve(l) //nolint:errcheck
		return func() {
			srv.Close()
			cancel()
			e.Wait()
		}
	}
	stop := run()
	prom := promstack.Prometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: tandem
    static_configs: [{targets: ['%s']}]
`, addr), nil)

	var health []string
	for _, d := range metrics.Health {
		health = append(health, d.Name)
	}
	business := fmt.Sprintf(`{__name__=~"tandem_.+", __name__!~"%s|tandem_exporter_build_info"}`, strings.Join(health, "|"))
	count := func(expr string) int {
		t.Helper()
		r, err := prom.Query(expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(r) == 0 {
			return 0
		}
		n, _ := strconv.ParseFloat(fmt.Sprint(r[0].Value[1]), 64)
		return int(n)
	}
	scrapes := func(n int) {
		t.Helper()
		promstack.Eventually(t, 60*time.Second, fmt.Sprintf("%d more scrapes with data", n), func() string {
			if got := count(`count_over_time(tandem_up{database="crm"}[10m])`); got < n {
				return fmt.Sprintf("%d scrapes", got)
			}
			return ""
		})
	}
	scrapes(4)
	before := count(fmt.Sprintf("count(%s)", business))
	if before < 1000 {
		t.Fatalf("only %d business series scraped", before)
	}
	for _, want := range []int{10, 16} {
		stop()
		time.Sleep(1500 * time.Millisecond) // at least one failed scrape: a real restart
		stop = run()
		scrapes(want)
	}
	defer stop()
	if got := count(fmt.Sprintf("count(%s)", business)); got != before {
		t.Errorf("%d business series after two restarts, %d before", got, before)
	}
	if n := count(`count_over_time(up{job="tandem"}[10m]) - sum_over_time(up{job="tandem"}[10m])`); n < 2 {
		t.Errorf("%d failed scrapes: the restarts were not seen", n)
	}
	for _, d := range append(append([]metrics.Def{}, metrics.CRM...), metrics.Campaign...) {
		for _, check := range []string{"resets", "changes"} { // per family: these functions drop the name
			if n := count(fmt.Sprintf("count(%s(%s[10m]) > 0)", check, d.Name)); n != 0 {
				r, _ := prom.Query(fmt.Sprintf("topk(3, %s(%s[10m]) > 0)", check, d.Name))
				t.Errorf("%s() over %s: %d series, e.g. %v", check, d.Name, n, r)
			}
		}
	}
}
