package exporter_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
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
	exec(`INSERT INTO leads (id, created_at, updated_at, source, region, status) VALUES
		(800005, $1, $1, 'Unknown', 'na', 'New'),                               -- a source named like Tandem's own value
		(800006, $1, $1, 'webform: jane.doe@example.com', 'other', 'New')       -- an e-mail address, and a region "other"
	`, now)
	exec(`INSERT INTO leads (id, created_at, updated_at, source, status, mql_at) VALUES
		(800007, $1, $1, 'email', 'New', '0001-01-01 00:00:00+00')              -- a placeholder date for "no date"
	`, now)
	exec(`INSERT INTO campaign_daily_stats (campaign_id, day, spend, impressions, clicks, updated_at)
		SELECT id, DATE '2020-01-01', -50, 10, 1, $1 FROM campaigns ORDER BY id LIMIT 1  -- a refund written as negative spend
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
		{"leads", "reserved_label_value"}:          2,
		{"leads", "personal_data_in_label"}:        1,
		{"leads", "placeholder_timestamp"}:         1,
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
	// Polls inside watermark_overlap read the same bad rows again: they are not counted again.
	for range 3 {
		poll(t, e)
	}
	if again := problems(); !maps.Equal(again, after) {
		for k, v := range again {
			if after[k] != v {
				t.Errorf("re-reading the overlap changed %s from %v to %v", k, after[k], v)
			}
		}
	}
	// A bad row fixed at the source drops out at the next incremental read.
	exec(`UPDATE sales_activities SET kind = 'call', updated_at = $1 WHERE id = 800004`, now)
	poll(t, e)
	nullKey := seriesKey(metrics.DataQualityRows, map[string]string{"database": "crm", "query": "activities", "check": "null_required"})
	if got := problems()[nullKey]; got != after[nullKey]-1 {
		t.Errorf("after fixing the NULL lead_id: %v null_required rows, want %v", got, after[nullKey]-1)
	}
	negKey := seriesKey(metrics.DataQualityRows, map[string]string{"database": "campaigns", "query": "campaign_stats", "check": "stat_negative"})
	if got := problems()[negKey] - before[negKey]; got != 1 {
		t.Errorf("campaign_stats/stat_negative: %v more rows, want 1", got)
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
	if got := sum(series(t, e.Registry, published)) - sum(leadsBefore); got != 5 {
		t.Errorf("leads created grew by %v, want 5", got)
	}
	for k := range series(t, e.Registry, published) {
		if strings.Contains(k, "@") {
			t.Errorf("an e-mail address is published: %s", k)
		}
	}
}

// Label values of any length are cut to source.MaxTextLength characters, with a mark, and each
// row with such a value is counted once under value_too_long, however often it is read again.
func TestLongValuesAreCut(t *testing.T) {
	w := newWorld(t, 52, 300, "", ordinary)
	e := w.exporter()
	poll(t, e)
	huge := strings.Repeat("é", 1<<20) // a megabyte of two-byte characters
	now := w.now
	w.exec(`UPDATE leads SET source = $1, updated_at = $2 WHERE id = (SELECT min(id) FROM leads)`, "paid_"+huge, now)
	w.exec(`UPDATE leads SET disqualified_reason = $1, disqualified_at = created_at, status = 'Disqualified', updated_at = $2
		WHERE id = (SELECT min(id) FROM leads WHERE sql_at IS NULL AND mql_at IS NOT NULL)`, huge, now)
	w.exec(`UPDATE sales_activities SET kind = $1, updated_at = $2 WHERE id = (SELECT min(id) FROM sales_activities)`, "call"+huge, now)
	w.exec(`UPDATE opportunities SET stage_name = $1, updated_at = $2 WHERE id = (SELECT min(id) FROM opportunities WHERE NOT is_closed)`, huge, now)
	w.exec(`UPDATE campaigns SET channel = $1, updated_at = $2 WHERE id = (SELECT min(id) FROM campaigns)`, huge, now)
	for range 3 { // the second and third read the same rows again inside the watermark overlap
		poll(t, e)
	}
	families, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if n := utf8.RuneCountInString(l.GetValue()); n > source.MaxTextLength {
					t.Fatalf("%s{%s} has a value of %d characters", f.GetName(), l.GetName(), n)
				}
				if strings.HasSuffix(l.GetValue(), source.TruncatedMark) {
					cut++
				}
			}
		}
	}
	if cut == 0 {
		t.Error("no label value carries the truncation mark")
	}
	problems := series(t, e.Registry, func(n string) bool { return n == metrics.DataQualityRows })
	for query, want := range map[string]float64{"leads": 2, "activities": 1, "opportunities": 1} {
		key := seriesKey(metrics.DataQualityRows, map[string]string{"database": "crm", "query": query, "check": source.CheckValueTooLong})
		if problems[key] != want {
			t.Errorf("%s: %v rows with a value cut, want %v", query, problems[key], want)
		}
	}
	key := seriesKey(metrics.DataQualityRows, map[string]string{"database": "campaigns", "query": "campaigns", "check": source.CheckValueTooLong})
	if problems[key] != 1 {
		t.Errorf("campaigns: %v rows with a value cut, want 1", problems[key])
	}
}

// A CRM without activity data switches the query off: it is not run or checked, the follow-up
// SLA numbers and touches are not published (every lead would look untouched), and every other
// number still equals SQL.
func TestActivitiesDisabled(t *testing.T) {
	w := newWorld(t, 53, 400, "", ordinary)
	w.cfg = reparse(t, w, strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
		"crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s, disabled_queries: [activities], queries: {activities: SELECT no_such_column FROM nowhere}}", 1))
	e := w.exporter()
	if err := e.Check(context.Background()); err != nil {
		t.Fatalf("--config.check ran the disabled query: %v", err)
	}
	poll(t, e)
	got := series(t, e.Registry, published)
	for k := range got {
		name, labels := parseKey(k)
		if metrics.NeedActivities[name] {
			t.Fatalf("%s is published without activity data", k)
		}
		if name == metrics.DataQualityRows && labels["query"] == "activities" {
			t.Fatalf("%s: the disabled query was read", k)
		}
	}
	want := map[string]float64{}
	for k, v := range w.expected() {
		name, labels := parseKey(k)
		if !metrics.NeedActivities[name] && !(name == metrics.DataQualityRows && labels["query"] == "activities") {
			want[k] = v
		}
	}
	compare(t, "with activities disabled", got, want)
	health := series(t, e.Registry, func(n string) bool { return n == metrics.QueryRows })
	for k := range health {
		if strings.Contains(k, `query="activities"`) {
			t.Errorf("%s published for a disabled query", k)
		}
	}

	// Only a query a database can go without may be disabled.
	_, err := config.Parse([]byte("databases:\n  crm: {dsn_env: CRM, disabled_queries: [leads]}\n"), "tandem.yml", func(string) string { return w.crmURL })
	if err == nil || !strings.Contains(err.Error(), "databases.crm.disabled_queries[0]") {
		t.Errorf("disabling leads: want an error naming the field, got %v", err)
	}
}

// Timestamps in a foreign text form (DD-MM-YYYY) would make every lead skipped while the poll
// "succeeds": --config.check decodes each query's first rows and refuses the mapping, naming the
// column, the values' masked form and the accepted forms, never a value.
func TestForeignDateFormRefusedByCheck(t *testing.T) {
	w := newWorld(t, 54, 300, "", ordinary)
	w.cfg = reparse(t, w, strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}", `crm:
    dsn_env: CRM
    queries:
      leads: |
        SELECT id, to_char(created_at, 'DD-MM-YYYY') AS created_at, updated_at, source, region, segment, owner_id, status,
               mql_at, sql_at, disqualified_at, disqualified_reason FROM leads`, 1))
	e := w.exporter()
	err := e.Check(context.Background())
	if err == nil {
		t.Fatal("--config.check accepted created_at as DD-MM-YYYY text")
	}
	for _, want := range []string{"databases.crm.queries.leads", "column created_at", `"99-99-9999"`, "RFC 3339"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if err := e.CheckStartup(context.Background()); err != nil {
		t.Errorf("start-up refused the mapping (only --config.check should): %v", err)
	}
}
