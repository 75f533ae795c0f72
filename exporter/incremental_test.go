package exporter_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/metrics"
)

// Polls after the first read only changed rows; late commits within the overlap are caught;
// what the watermark cannot see (hard deletes, changes dated too far back) is caught by the
// periodic full read, counted as drift, and every number then equals SQL again.
func TestIncrementalPolling(t *testing.T) {
	w := newWorld(t, 61, 1500, slaAttempts, ordinary)
	e := w.exporter()
	poll(t, e)
	health := func() map[string]float64 {
		return series(t, e.Registry, func(n string) bool {
			return n == metrics.QueryRows || n == metrics.FullReads || n == metrics.ReconciliationDrift ||
				n == metrics.TallyRebuilds
		})
	}
	rowsRead := func(h map[string]float64, q string) float64 {
		return h[seriesKey(metrics.QueryRows, map[string]string{"database": "crm", "query": q})]
	}
	h0 := health()
	var leads float64
	if err := w.crm.Get(&leads, "SELECT count(*) FROM leads"); err != nil {
		t.Fatal(err)
	}
	if rowsRead(h0, "leads") != leads {
		t.Fatalf("the first poll read %v leads of %v", rowsRead(h0, "leads"), leads)
	}

	// Steady state: three changed leads, one of them very old; one commit late, dated four
	// minutes before the newest row seen (inside the 5-minute overlap).
	w.now = w.now.Add(10 * time.Minute)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.crm.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	var watermark time.Time
	if err := w.crm.Get(&watermark, "SELECT max(updated_at) FROM leads WHERE updated_at <= $1", w.now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE leads SET status = 'SQL', sql_at = $1, updated_at = $1 WHERE id IN (SELECT id FROM leads WHERE mql_at IS NOT NULL AND sql_at IS NULL ORDER BY id LIMIT 2)`, w.now)
	exec(`UPDATE leads SET sql_at = COALESCE(sql_at, created_at + interval '1 day'), updated_at = $1 WHERE id = 1`, w.now) // the oldest lead
	exec(`UPDATE leads SET mql_at = created_at, status = 'MQL', updated_at = $1 WHERE id = (SELECT id FROM leads WHERE mql_at IS NULL ORDER BY id DESC LIMIT 1)`,
		watermark.Add(-4*time.Minute))
	poll(t, e)
	h1 := health()
	if read := rowsRead(h1, "leads") - rowsRead(h0, "leads"); read > leads/20 {
		t.Errorf("a steady-state poll read %v leads of %v: not incremental", read, leads)
	}
	if h1[seriesKey(metrics.FullReads, map[string]string{"database": "crm"})] != 1 {
		t.Errorf("a second full read happened")
	}
	if h1[seriesKey(metrics.TallyRebuilds, map[string]string{"database": "crm"})] != 1 {
		t.Errorf("a steady-state poll recomputed every lead instead of the changed ones")
	}
	compare(t, "after incremental polls", series(t, e.Registry, published), w.expected())

	// Invisible to the watermark: a hard delete, and a change dated an hour back.
	exec(`DELETE FROM sales_activities WHERE lead_id = 2`)
	exec(`DELETE FROM leads WHERE id = 2`)
	exec(`UPDATE leads SET segment = 'enterprise', updated_at = $1 WHERE id = 3`, watermark.Add(-time.Hour))
	w.now = w.now.Add(time.Minute)
	poll(t, e)
	if h := health(); h[seriesKey(metrics.ReconciliationDrift, map[string]string{"database": "crm", "query": "leads", "kind": "deleted"})] != 0 {
		t.Fatal("an incremental poll claims to have seen a hard delete")
	}

	// The hourly full read finds both, counts them, and the numbers equal SQL again.
	w.now = w.now.Add(61 * time.Minute)
	poll(t, e)
	h3 := health()
	if got := h3[seriesKey(metrics.ReconciliationDrift, map[string]string{"database": "crm", "query": "leads", "kind": "deleted"})]; got != 1 {
		t.Errorf("reconciliation found %v deleted leads, want 1", got)
	}
	if got := h3[seriesKey(metrics.ReconciliationDrift, map[string]string{"database": "crm", "query": "leads", "kind": "changed"})]; got != 1 {
		t.Errorf("reconciliation found %v leads changed behind the watermark, want 1", got)
	}
	if h3[seriesKey(metrics.FullReads, map[string]string{"database": "crm"})] != 2 {
		t.Error("no reconciliation after reconcile_interval")
	}
	if h3[seriesKey(metrics.TallyRebuilds, map[string]string{"database": "crm"})] != 1 {
		t.Error("the reconciliation recomputed every lead, not only those it found changed")
	}
	compare(t, "after reconciliation", series(t, e.Registry, published), w.expected())
}

// A query with a column PostgreSQL cannot hash by value (xml, json) is digested by its rows'
// text form instead: it polls, and the reconciliation still finds a change made behind the
// watermark, leaving every number equal to SQL.
func TestReconcileUnhashableColumn(t *testing.T) {
	w := newWorld(t, 62, 600, slaAttempts, ordinary)
	w.cfg = reparse(t, w, strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}", `crm:
    dsn_env: CRM
    queries:
      leads: |
        SELECT id, created_at, updated_at, source, region, XMLPARSE(CONTENT segment) AS segment, owner_id, status,
               mql_at, sql_at, disqualified_at, disqualified_reason
        FROM leads`, 1)+slaAttempts)
	e := w.exporter()
	poll(t, e)
	compare(t, "an xml column", series(t, e.Registry, published), w.expected())

	w.exec(`UPDATE leads SET segment = 'enterprise', updated_at = updated_at - interval '1 hour' WHERE id = (SELECT id FROM leads WHERE segment = 'smb' AND updated_at IS NOT NULL ORDER BY created_at DESC LIMIT 1)`)
	w.now = w.now.Add(61 * time.Minute)
	poll(t, e)
	h := series(t, e.Registry, func(n string) bool { return n == metrics.ReconciliationDrift })
	if got := h[seriesKey(metrics.ReconciliationDrift, map[string]string{"database": "crm", "query": "leads", "kind": "changed"})]; got != 1 {
		t.Errorf("reconciliation found %v leads changed behind the watermark, want 1", got)
	}
	compare(t, "after reconciliation", series(t, e.Registry, published), w.expected())
}

// At a reconciliation, a lead whose own row changed while one of its deals was deleted (which no
// watermark sees) is read whole: its deal is gone from every number at once.
func TestReconcileLeadChangedAndDealDeleted(t *testing.T) {
	w := newWorld(t, 63, 600, slaAttempts, ordinary)
	e := w.exporter()
	poll(t, e)
	var lead int64
	if err := w.crm.Get(&lead, `SELECT o.lead_id FROM opportunities o JOIN leads l ON l.id = o.lead_id
		WHERE o.created_at > $1::timestamptz - interval '60 days' AND o.created_at <= $1 ORDER BY o.created_at DESC LIMIT 1`, w.now); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(61 * time.Minute)
	w.exec(`DELETE FROM opportunities WHERE lead_id = $1`, lead)
	w.exec(`UPDATE leads SET segment = 'enterprise', updated_at = $2 WHERE id = $1`, lead, w.now.Add(-time.Minute))
	poll(t, e)
	compare(t, "after the reconciliation", series(t, e.Registry, published), w.expected())
}

// A reconciliation that finds nothing sums each query's digests once, over all its rows; one
// that finds a change sums that query's again by ranges of leads, and finds the lead.
func TestReconcileSumsOnceUnlessSomethingDiffers(t *testing.T) {
	w := newWorld(t, 64, 600, slaAttempts, ordinary)
	var logs bytes.Buffer
	e, err := exporter.New(w.cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), func() time.Time { return w.now })
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	poll(t, e)
	// What the reconciliation of the last poll did, by query: whether its total was the same,
	// and whether it summed again by ranges.
	reconciled := func() (total map[string]bool, ranges map[string]bool) {
		total, ranges = map[string]bool{}, map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec struct {
				Msg, Query string
				Same       bool
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			switch rec.Msg {
			case "reconciliation by total":
				total[rec.Query] = rec.Same
			case "reconciliation by ranges of leads":
				ranges[rec.Query] = true
			}
		}
		logs.Reset()
		return total, ranges
	}
	reconciled()

	w.now = w.now.Add(61 * time.Minute)
	poll(t, e)
	total, ranges := reconciled()
	for _, q := range []string{"leads", "activities", "opportunities", "touchpoints"} {
		if same, ok := total[q]; !ok || !same {
			t.Errorf("%s: total summed %v, same %v; want one equal total", q, ok, same)
		}
	}
	if len(ranges) != 0 {
		t.Errorf("a reconciliation that found nothing summed again by ranges: %v", ranges)
	}

	w.exec(`UPDATE leads SET segment = 'enterprise', updated_at = updated_at - interval '1 hour' WHERE id = (SELECT id FROM leads WHERE segment = 'smb' ORDER BY created_at DESC LIMIT 1)`)
	w.now = w.now.Add(61 * time.Minute)
	poll(t, e)
	total, ranges = reconciled()
	if same, ok := total["leads"]; !ok || same {
		t.Errorf("leads: total summed %v, same %v, after a change behind the watermark", ok, same)
	}
	if !ranges["leads"] || len(ranges) != 1 {
		t.Errorf("summed again by ranges: %v, want the leads only", ranges)
	}
	h := series(t, e.Registry, func(n string) bool { return n == metrics.ReconciliationDrift })
	if got := h[seriesKey(metrics.ReconciliationDrift, map[string]string{"database": "crm", "query": "leads", "kind": "changed"})]; got != 1 {
		t.Errorf("reconciliation found %v leads changed behind the watermark, want 1", got)
	}
	compare(t, "after reconciliation", series(t, e.Registry, published), w.expected())
}

// The rows of the watermark's overlap are read again at each poll: a row committed late behind
// the watermark, with its lead's other rows unchanged, is found by its digest, its lead
// recomputed, and every number equals SQL; with the row digested by its text form (an xml
// column) as well.
func TestLateCommitsInTheOverlap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
	}{
		{"by value", ""},
		{"by text", `
    queries:
      activities: |
        SELECT id, lead_id, XMLPARSE(CONTENT kind) AS kind, occurred_at, updated_at FROM sales_activities`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 64, 800, slaAttempts, ordinary)
			if tc.query != "" {
				w.cfg = reparse(t, w, strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
					"crm:\n    dsn_env: CRM"+tc.query, 1)+slaAttempts)
			}
			e := w.exporter()
			poll(t, e)
			var watermark time.Time
			for _, table := range []string{"leads", "sales_activities", "opportunities"} {
				var m time.Time
				if err := w.crm.Get(&m, "SELECT max(updated_at) FROM "+table+" WHERE updated_at <= $1", w.now); err != nil {
					t.Fatal(err)
				}
				if m.After(watermark) {
					watermark = m
				}
			}
			// Three late commits, dated three minutes behind the newest row seen, and one in
			// time; then a poll with nothing new, whose overlap still holds them.
			late := watermark.Add(-3 * time.Minute)
			w.now = w.now.Add(time.Minute)
			w.exec(`UPDATE sales_activities SET occurred_at = occurred_at - interval '2 hours', updated_at = $1
				WHERE id = (SELECT a.id FROM sales_activities a JOIN leads l ON l.id = a.lead_id WHERE l.mql_at IS NOT NULL ORDER BY a.id DESC LIMIT 1)`, late)
			w.exec(`UPDATE opportunities SET is_won = NOT is_won, updated_at = $1 WHERE id = (SELECT id FROM opportunities WHERE is_closed ORDER BY id LIMIT 1)`, late)
			w.exec(`UPDATE leads SET region = 'EMEA', updated_at = $1 WHERE id = (SELECT id FROM leads WHERE region <> 'EMEA' ORDER BY id DESC LIMIT 1)`, late)
			w.exec(`UPDATE leads SET status = 'MQL', mql_at = created_at, updated_at = $1 WHERE id = (SELECT id FROM leads WHERE mql_at IS NULL ORDER BY id LIMIT 1)`, w.now)
			poll(t, e)
			compare(t, "after late commits in the overlap", series(t, e.Registry, published), w.expected())
			w.now = w.now.Add(time.Minute)
			poll(t, e)
			compare(t, "a poll later, the overlap unchanged", series(t, e.Registry, published), w.expected())
		})
	}
}
