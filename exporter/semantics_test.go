package exporter_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/tandem-oss/tandem/metrics"
)

// Business numbers are gauges of the rows as they are: a hard-deleted lead and a stage moved back
// take their numbers down with them, exactly as SQL says, and no tandem_ counter comes from rows.
func TestNumbersFollowTheRows(t *testing.T) {
	w := newWorld(t, 11, 600, slaAttempts, ordinary)
	// Every poll a full read, so the hard delete is seen at once (incremental reads see it at the
	// next reconciliation: TestIncrementalPolling).
	w.cfg = reparse(t, w, strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
		"crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s, reconcile_interval: 0s}", 1)+slaAttempts)
	e := w.exporter()
	poll(t, e)
	before := series(t, e.Registry, published)

	var victim struct {
		ID                            int64
		Source, Region, Segment, Team string
	}
	if err := w.crm.Get(&victim, `SELECT l.id, l.source, l.region, l.segment, o.sales_team AS team FROM leads l JOIN owners o ON o.id = l.owner_id
		WHERE l.mql_at IS NOT NULL AND l.source IS NOT NULL AND l.created_at > $1::timestamptz - interval '60 days' ORDER BY l.id LIMIT 1`, w.now); err != nil {
		t.Fatal(err)
	}
	created := seriesKey(metrics.LeadsCreated, map[string]string{"period": "this_year", "source": victim.Source, "region": victim.Region, "segment": victim.Segment, "sales_team": victim.Team})
	w.exec(`DELETE FROM leads WHERE id = $1`, victim.ID)
	w.exec(`UPDATE leads SET mql_at = NULL, status = 'New' WHERE id IN (SELECT id FROM leads WHERE mql_at IS NOT NULL ORDER BY id LIMIT 5)`)
	poll(t, e)
	after := series(t, e.Registry, published)
	if after[created] != before[created]-1 {
		t.Errorf("%s went from %v to %v after a hard delete; want one less", created, before[created], after[created])
	}
	compare(t, "after a hard delete and stages moved back", after, w.expected())

	mfs, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	health := map[string]bool{}
	for _, d := range metrics.Health {
		health[d.Name] = true
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "tandem_") && mf.GetType().String() == "COUNTER" && !health[mf.GetName()] {
			t.Errorf("%s is a counter of rows: business numbers must be gauges", mf.GetName())
		}
	}
}

// Label values beyond a label's cap fold into "other": the most frequent values keep their name.
func TestLabelFolding(t *testing.T) {
	w := newWorld(t, 5, 800, "", ordinary)
	w.cfg.Caps["source"] = 3
	e := w.exporter()
	poll(t, e)
	got := series(t, e.Registry, func(n string) bool { return n == metrics.LeadsCreated })
	want := map[string]float64{}
	expectSQL(t, w.crm, want, metrics.LeadsCreated, base+`,
		top AS (SELECT source FROM ld WHERE source <> 'unknown' GROUP BY source ORDER BY count(*) DESC, source LIMIT 3)
		SELECT p.period, CASE WHEN source = 'unknown' OR source IN (SELECT source FROM top) THEN source ELSE 'other' END AS source,
		       region, segment, sales_team, count(*) AS value FROM periods p JOIN ld ON `+inPeriod("ld.created_at")+` GROUP BY 1, 2, 3, 4, 5`,
		w.now, w.tz, w.fiscalStart)
	want = zeroFill(want)
	compare(t, "folded sources", got, want)
	sources := map[string]bool{}
	for k := range got {
		sources[strings.SplitN(strings.SplitN(k, `source="`, 2)[1], `"`, 2)[0]] = true
	}
	if len(sources) != 5 || !sources["other"] || !sources["unknown"] {
		t.Errorf("want 3 named sources plus other and unknown, got %v", sources)
	}
}

// promtool, the Prometheus project's own linter, accepts everything the exporter publishes.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed (Debian package prometheus); CI must install it")
		}
		t.Skip("promtool not installed")
	}
	w := newWorld(t, 3, 500, "", ordinary)
	e := w.exporter()
	poll(t, e)
	mfs, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "tandem_") {
			n += len(mf.GetMetric())
		}
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if n < 100 {
		t.Fatalf("only %d tandem series: nothing much to check", n)
	}
	cmd := exec.CommandContext(context.Background(), promtool, "check", "metrics")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
