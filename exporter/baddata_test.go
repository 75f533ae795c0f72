package exporter_test

import (
	"strings"
	"testing"

	"github.com/tandem-oss/tandem/metrics"
)

// badDataQueries read the reference schema but let the test inject what a typed schema cannot
// hold: a NULL in a required column, a timestamp that does not parse, a duplicated row.
const badDataQueries = `
databases:
  crm:
    dsn_env: CRM
    queries:
      leads: |
        SELECT id, CASE WHEN source = 'bad-timestamp' THEN 'not a date' ELSE (created_at AT TIME ZONE 'UTC')::text END AS created_at,
               updated_at, source, region, segment, owner_id, status, mql_at, sql_at, disqualified_at, disqualified_reason
        FROM leads
      activities: |
        SELECT id, CASE WHEN kind = 'null-lead' THEN NULL ELSE lead_id END AS lead_id, kind, occurred_at FROM sales_activities
        UNION ALL
        SELECT id, lead_id, kind, occurred_at FROM sales_activities WHERE kind = 'duplicated'
  campaigns: {dsn_env: CAMPAIGNS}
`

// Each kind of bad row is counted under its check, skipped where it must be, and never stops a
// poll: the exporter stays up and the good rows are all counted.
func TestBadDataIsCountedAndSkipped(t *testing.T) {
	w := newWorld(t, 51, 300, "", ordinary)
	w.cfg = reparse(t, w, strings.Replace(w.config(), `databases:
  crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}
  campaigns: {dsn_env: CAMPAIGNS, poll_interval: 1m, query_timeout: 30s}
`, badDataQueries, 1))
	e := w.exporter()
	poll(t, e)
	problems := func() map[string]float64 {
		out := map[string]float64{}
		for k, v := range series(t, e.Registry, func(n string) bool { return n == metrics.DataQualityRows }) {
			out[k] = v
		}
		return out
	}
	before := problems()
	leadsBefore := series(t, e.Registry, published)

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.crm.Exec(q, args...); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	now := w.now
	exec(`INSERT INTO leads (id, created_at, updated_at, source, status) VALUES
		(800001, $1, $1, 'email', 'Nurture'),                                   -- unknown status
		(800002, $1::timestamptz + interval '2 days', $1, 'email', 'New'),      -- created in the future
		(800003, $1, $1, 'bad-timestamp', 'New')                                -- unparseable created_at
	`, now)
	exec(`INSERT INTO leads (id, created_at, updated_at, source, status, mql_at) VALUES
		(800004, $1, $1, 'email', 'MQL', $1::timestamptz - interval '1 day')    -- MQL before created
	`, now)
	exec(`INSERT INTO sales_activities (id, lead_id, kind, occurred_at, updated_at) VALUES
		(800001, 800001, 'call', $1::timestamptz - interval '1 hour', $1),       -- before its lead was created
		(800002, 800001, 'call', $1::timestamptz + interval '1 day', $1),        -- in the future
		(800003, 799999, 'call', $1, $1),                                        -- unknown lead
		(800004, 800001, 'null-lead', $1, $1),                                   -- NULL in a required column
		(800005, 800001, 'duplicated', $1, $1)                                   -- read twice
	`, now)
	exec(`INSERT INTO opportunities (id, lead_id, amount, currency, stage_name, created_at, is_closed, is_won, updated_at) VALUES
		(800001, 800001, -5, 'USD', 'Discovery', $1, false, false, $1),          -- negative amount
		(800002, 800001, 5000000000, 'USD', 'Discovery', $1, false, false, $1),  -- absurd amount
		(800003, 800001, 100, 'CHF', 'Discovery', $1, false, false, $1)          -- currency without a rate
	`, now)
	poll(t, e)
	after := problems()
	want := map[[2]string]float64{
		{"leads", "unknown_status"}:                1,
		{"leads", "timestamp_in_future"}:           1,
		{"leads", "bad_value"}:                     1,
		{"leads", "stage_out_of_order"}:            1,
		{"activities", "activity_before_lead"}:     1,
		{"activities", "timestamp_in_future"}:      1,
		{"activities", "activity_unknown_lead"}:    1,
		{"activities", "null_required"}:            1,
		{"activities", "duplicate_id"}:             1,
		{"opportunities", "amount_out_of_range"}:   2,
		{"opportunities", "currency_without_rate"}: 1,
	}
	for k, n := range want {
		key := seriesKey(metrics.DataQualityRows, map[string]string{"database": "crm", "query": k[0], "check": k[1]})
		if got := after[key] - before[key]; got != n {
			t.Errorf("%s/%s: %v more rows, want %v", k[0], k[1], got, n)
		}
	}
	up := series(t, e.Registry, func(n string) bool { return n == metrics.Up })
	if up[seriesKey(metrics.Up, map[string]string{"database": "crm"})] != 1 {
		t.Fatal("bad rows stopped the poll")
	}
	// The good new leads (unknown status, out-of-order stages) count; the future and unparseable ones do not.
	sum := func(m map[string]float64) float64 {
		total := 0.0
		for k, v := range m {
			if strings.HasPrefix(k, metrics.LeadsCreated+"{") && strings.Contains(k, `period="this_year"`) {
				total += v
			}
		}
		return total
	}
	if got := sum(series(t, e.Registry, published)) - sum(leadsBefore); got != 2 {
		t.Errorf("leads created grew by %v, want 2", got)
	}
}
