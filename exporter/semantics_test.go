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

// Counters never decrease while the process runs: a hard-deleted lead and a stage moved back
// keep their counts, the fall is counted as a regression, and new events still count.
func TestCountersNeverDecrease(t *testing.T) {
	w := newWorld(t, 11, 600, "")
	// Every poll a full read, so the hard delete is seen at once (incremental reads see it at the
	// next reconciliation: TestIncrementalPolling).
	w.cfg = reparse(t, w, strings.Replace(testConfig, "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
		"crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s, reconcile_interval: 0s}", 1))
	e := w.exporter()
	poll(t, e)
	before := series(t, e.Registry, published)

	var victim struct {
		ID                            int64
		Source, Region, Segment, Team string
	}
	if err := w.crm.Get(&victim, `SELECT l.id, l.source, l.region, l.segment, o.sales_team AS team FROM leads l JOIN owners o ON o.id = l.owner_id
		WHERE l.mql_at IS NOT NULL AND l.source IS NOT NULL ORDER BY l.id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"source": victim.Source, "region": victim.Region, "segment": victim.Segment, "sales_team": victim.Team}
	created := seriesKey(metrics.LeadsCreated, labels)
	mqlLabels := copyLabels(labels)
	mqlLabels["funnel_stage"] = "mql"
	mql := seriesKey(metrics.FunnelStageEntered, mqlLabels)

	// Delete one lead of the series, and move another MQL of the same series back to lead.
	if _, err := w.crm.Exec(`DELETE FROM leads WHERE id = $1`, victim.ID); err != nil {
		t.Fatal(err)
	}
	res, err := w.crm.Exec(`UPDATE leads SET mql_at = NULL WHERE id = (SELECT l.id FROM leads l JOIN owners o ON o.id = l.owner_id
		WHERE l.mql_at IS NOT NULL AND l.source = $1 AND l.region = $2 AND l.segment = $3 AND o.sales_team = $4 ORDER BY l.id LIMIT 1)`,
		victim.Source, victim.Region, victim.Segment, victim.Team)
	if err != nil {
		t.Fatal(err)
	}
	moved, _ := res.RowsAffected()
	poll(t, e)
	after := series(t, e.Registry, published)
	if after[created] != before[created] {
		t.Errorf("%s went from %v to %v after a hard delete; want it kept", created, before[created], after[created])
	}
	if after[mql] != before[mql] {
		t.Errorf("%s went from %v to %v; want it kept", mql, before[mql], after[mql])
	}
	for k, v := range before {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") && after[k] < v {
			t.Errorf("counter %s fell from %v to %v", k, v, after[k])
		}
	}
	reg := series(t, e.Registry, func(n string) bool { return n == metrics.DataQualityRegressions })
	if reg[seriesKey(metrics.DataQualityRegressions, map[string]string{"metric": metrics.LeadsCreated})] < 1 {
		t.Errorf("no regression counted for %s: %v", metrics.LeadsCreated, reg)
	}
	if moved == 1 && reg[seriesKey(metrics.DataQualityRegressions, map[string]string{"metric": metrics.FunnelStageEntered})] < 1 {
		t.Errorf("no regression counted for %s: %v", metrics.FunnelStageEntered, reg)
	}

	// A new lead in the same series still counts on top of the kept value.
	if _, err := w.crm.Exec(`INSERT INTO leads (id, created_at, updated_at, source, region, segment, owner_id, status)
		SELECT 100000, $1, $1, source, region, segment, owner_id, 'New' FROM leads WHERE owner_id = (SELECT owner_id FROM leads l JOIN owners o ON o.id = l.owner_id
		WHERE l.source = $2 AND l.region = $3 AND l.segment = $4 AND o.sales_team = $5 LIMIT 1) AND source = $2 AND region = $3 AND segment = $4 LIMIT 1`,
		w.now, victim.Source, victim.Region, victim.Segment, victim.Team); err != nil {
		t.Fatal(err)
	}
	poll(t, e)
	if got := series(t, e.Registry, published)[created]; got != before[created]+1 {
		t.Errorf("%s = %v after one new lead; want %v", created, got, before[created]+1)
	}
}

// Label values beyond a label's cap fold into "other": the most frequent values keep their name.
func TestLabelFolding(t *testing.T) {
	w := newWorld(t, 5, 800, "")
	w.cfg.Caps["source"] = 3
	e := w.exporter()
	poll(t, e)
	got := series(t, e.Registry, func(n string) bool { return n == metrics.LeadsCreated })
	want := map[string]float64{}
	expectSQL(t, w.crm, want, metrics.LeadsCreated, `
		WITH ld AS (SELECT COALESCE(NULLIF(TRIM(l.source), ''), 'unknown') AS source, COALESCE(NULLIF(TRIM(l.region), ''), 'unknown') AS region,
		       COALESCE(NULLIF(TRIM(l.segment), ''), 'unknown') AS segment, COALESCE(NULLIF(TRIM(o.sales_team), ''), 'unknown') AS sales_team
		  FROM leads l LEFT JOIN owners o ON o.id = l.owner_id),
		top AS (SELECT source FROM ld WHERE source <> 'unknown' GROUP BY source ORDER BY count(*) DESC, source LIMIT 3)
		SELECT CASE WHEN source = 'unknown' OR source IN (SELECT source FROM top) THEN source ELSE 'other' END AS source,
		       region, segment, sales_team, count(*) AS value FROM ld GROUP BY 1, 2, 3, 4`)
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
	w := newWorld(t, 3, 500, "")
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
