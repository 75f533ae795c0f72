package exporter_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/metrics"
)

// The independent computation: plain PostgreSQL over the same tables, written from the rules in
// docs/metrics.md rather than from the Go code. rates and status_map restate the test config and
// the documented default mapping.
const base = `
WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric)),
status_map(status, stage) AS (VALUES ('new','lead'), ('mql','mql'), ('working','mql'), ('sql','sql'),
  ('converted','opportunity'), ('disqualified','disqualified'), ('open - not contacted','mql'),
  ('working - contacted','mql'), ('closed - converted','opportunity'), ('closed - not converted','disqualified'),
  ('subscriber','lead'), ('lead','lead'), ('marketingqualifiedlead','mql'), ('salesqualifiedlead','sql'),
  ('opportunity','opportunity'), ('customer','won')),
ld AS (
  SELECT l.id, l.created_at, l.mql_at, l.sql_at, l.disqualified_at,
         COALESCE(NULLIF(TRIM(l.disqualified_reason), ''), 'unknown') AS reason,
         lower(trim(l.status)) AS status,
         COALESCE(NULLIF(TRIM(l.source), ''), 'unknown') AS source,
         COALESCE(NULLIF(TRIM(l.region), ''), 'unknown') AS region,
         COALESCE(NULLIF(TRIM(l.segment), ''), 'unknown') AS segment,
         COALESCE(NULLIF(TRIM(o.sales_team), ''), 'unknown') AS sales_team, o.region AS owner_region
  FROM leads l LEFT JOIN owners o ON o.id = l.owner_id
  WHERE l.created_at <= $1::timestamptz + interval '5 minutes'),
opp AS (
  SELECT op.id, op.lead_id, round(op.amount * r.rate, 2) AS amount,
         COALESCE(NULLIF(TRIM(op.stage_name), ''), 'unknown') AS stage,
         op.expected_close_date, op.closed_at, (op.is_closed OR op.is_won) AS is_closed, op.is_won,
         COALESCE(ld.source, 'unknown') AS source, COALESCE(ld.region, 'unknown') AS region,
         COALESCE(ld.segment, 'unknown') AS segment, COALESCE(ld.sales_team, 'unknown') AS sales_team
  FROM opportunities op
  JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(op.currency)), ''), 'USD')
  LEFT JOIN ld ON ld.id = op.lead_id
  WHERE round(op.amount * r.rate, 2) BETWEEN 0 AND 1000000000
    AND op.created_at <= $1::timestamptz + interval '5 minutes' AND COALESCE(op.closed_at <= $1::timestamptz + interval '5 minutes', true)),
act AS (
  SELECT a.id, a.lead_id, lower(COALESCE(NULLIF(TRIM(a.kind), ''), 'unknown')) AS kind, a.occurred_at
  FROM sales_activities a JOIN ld ON ld.id = a.lead_id
  WHERE a.occurred_at >= ld.created_at AND a.occurred_at <= $1::timestamptz + interval '5 minutes'),
oppagg AS (
  SELECT lead_id, true AS has_opp, bool_or(is_won) AS has_won, bool_or(is_closed AND NOT is_won) AS has_lost,
         bool_or(NOT is_closed) AS has_open
  FROM opp GROUP BY lead_id),
ft AS (
  SELECT a.lead_id, MIN(a.occurred_at) FILTER (WHERE a.occurred_at >= ld.mql_at) AS first_touch,
         MIN(a.occurred_at) AS first_any,
         count(*) FILTER (WHERE a.occurred_at >= ld.mql_at AND a.occurred_at <= ld.mql_at + interval '72 hours') AS attempts
  FROM act a JOIN ld ON ld.id = a.lead_id
  WHERE a.kind IN ('call', 'email', 'meeting') GROUP BY a.lead_id),
ls AS (
  SELECT ld.*, ft.first_touch, ft.first_any, COALESCE(ft.attempts, 0) AS attempts, COALESCE(oa.has_opp, false) AS has_opp, COALESCE(oa.has_won, false) AS has_won,
         COALESCE(oa.has_lost, false) AS has_lost, COALESCE(oa.has_open, false) AS has_open, sm.stage AS mapped
  FROM ld LEFT JOIN ft ON ft.lead_id = ld.id LEFT JOIN oppagg oa ON oa.lead_id = ld.id
  LEFT JOIN status_map sm ON sm.status = ld.status),
fu AS (
  SELECT ls.*, tandem_bt(mql_at, first_touch, owner_region) AS latency,
         tandem_bt(mql_at, $1::timestamptz, owner_region) AS age,
         EXTRACT(EPOCH FROM $1::timestamptz - mql_at) AS calendar_age
  FROM ls WHERE mql_at IS NOT NULL),
waiting AS (
  SELECT * FROM fu WHERE first_touch IS NULL AND disqualified_at IS NULL AND NOT has_opp
    AND COALESCE(mapped, '') NOT IN ('won', 'lost', 'disqualified')),
periods(fiscal_period, start_at, end_at) AS (
  SELECT 'quarter', date_trunc('quarter', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         (date_trunc('quarter', $1::timestamptz AT TIME ZONE 'UTC') + interval '3 months') AT TIME ZONE 'UTC'
  UNION ALL
  SELECT 'year', date_trunc('year', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
         (date_trunc('year', $1::timestamptz AT TIME ZONE 'UTC') + interval '1 year') AT TIME ZONE 'UTC')
`

const dims = "source, region, segment, sales_team"

// producer is each lead's producing campaign: the campaign of its last touch at or before its
// creation (ties: the higher touch id).
const producer = `, producer AS (
		SELECT DISTINCT ON (l.id) l.id AS lead_id, lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel,
		       COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign
		FROM leads l JOIN marketing_touchpoints t ON t.lead_id = l.id AND t.occurred_at <= l.created_at
		LEFT JOIN campaigns c ON c.id = t.campaign_id
		ORDER BY l.id, t.occurred_at DESC, t.id DESC)`

var crmExpectations = []struct{ metric, query string }{
	{metrics.LeadsCreated, `SELECT ` + dims + `, count(*) AS value FROM ld GROUP BY ` + dims},
	{metrics.FunnelStageEntered, `SELECT funnel_stage, ` + dims + `, count(*) AS value FROM (
		SELECT 'lead' AS funnel_stage, * FROM ls
		UNION ALL SELECT 'mql', * FROM ls WHERE mql_at IS NOT NULL
		UNION ALL SELECT 'sql', * FROM ls WHERE sql_at IS NOT NULL
		UNION ALL SELECT 'opportunity', * FROM ls WHERE has_opp
		UNION ALL SELECT 'won', * FROM ls WHERE has_won
		UNION ALL SELECT 'lost', * FROM ls WHERE has_lost
		UNION ALL SELECT 'disqualified', * FROM ls WHERE disqualified_at IS NOT NULL) x
		GROUP BY funnel_stage, ` + dims},
	{metrics.LeadsDisqualified, `SELECT reason AS disqualified_reason, ` + dims + `, count(*) AS value FROM ld
		WHERE disqualified_at IS NOT NULL GROUP BY reason, ` + dims},
	{metrics.Leads, `SELECT funnel_stage, ` + dims + `, count(*) AS value FROM (
		SELECT CASE WHEN has_won THEN 'won' WHEN has_open THEN 'opportunity' WHEN has_lost THEN 'lost' ELSE mapped END AS funnel_stage, *
		FROM ls) x WHERE funnel_stage IS NOT NULL GROUP BY funnel_stage, ` + dims},
	{metrics.OpportunitiesCreated, `SELECT ` + dims + `, count(*) AS value FROM opp GROUP BY ` + dims},
	{metrics.OpportunitiesCreatedAmt, `SELECT ` + dims + `, sum(amount) AS value FROM opp GROUP BY ` + dims},
	{metrics.OpportunitiesWon, `SELECT ` + dims + `, count(*) AS value FROM opp WHERE is_won GROUP BY ` + dims},
	{metrics.OpportunitiesWonAmt, `SELECT ` + dims + `, sum(amount) AS value FROM opp WHERE is_won GROUP BY ` + dims},
	{metrics.OpportunitiesLost, `SELECT ` + dims + `, count(*) AS value FROM opp WHERE is_closed AND NOT is_won GROUP BY ` + dims},
	{metrics.OpportunitiesLostAmt, `SELECT ` + dims + `, sum(amount) AS value FROM opp WHERE is_closed AND NOT is_won GROUP BY ` + dims},
	{metrics.OpportunitiesOpen, `SELECT stage AS opportunity_stage, ` + dims + `, count(*) AS value FROM opp WHERE NOT is_closed GROUP BY stage, ` + dims},
	{metrics.OpportunitiesOpenAmt, `SELECT stage AS opportunity_stage, ` + dims + `, sum(amount) AS value FROM opp WHERE NOT is_closed GROUP BY stage, ` + dims},
	{metrics.SalesTouches, `SELECT act.kind, ` + dims + `, count(*) AS value FROM act JOIN ld ON ld.id = act.lead_id GROUP BY act.kind, ` + dims},
	{metrics.FollowupLatency + "_bucket", `SELECT le, ` + dims + `, count(*) FILTER (WHERE latency <= bound) AS value
		FROM fu CROSS JOIN (VALUES ('60', 60), ('300', 300), ('900', 900), ('1800', 1800), ('3600', 3600), ('7200', 7200),
		  ('14400', 14400), ('28800', 28800), ('86400', 86400), ('172800', 172800), ('604800', 604800),
		  ('+Inf', 'Infinity'::float8)) b(le, bound)
		WHERE latency IS NOT NULL GROUP BY le, ` + dims},
	{metrics.FollowupLatency + "_sum", `SELECT ` + dims + `, sum(latency) AS value FROM fu WHERE latency IS NOT NULL GROUP BY ` + dims},
	{metrics.FollowupLatency + "_count", `SELECT ` + dims + `, count(*) AS value FROM fu WHERE latency IS NOT NULL GROUP BY ` + dims},
	{metrics.FollowupWithinSLA, `SELECT ` + dims + `, count(*) AS value FROM fu WHERE latency <= 3600 GROUP BY ` + dims},
	{metrics.FollowupOverSLA, `SELECT ` + dims + `, count(*) AS value FROM fu WHERE latency > 3600 GROUP BY ` + dims},
	{metrics.FollowupWaiting, `SELECT CASE WHEN age > 3600 THEN 'over' ELSE 'within' END AS sla_status, ` + dims + `, count(*) AS value
		FROM waiting WHERE calendar_age <= 30 * 86400 GROUP BY 1, ` + dims},
	{metrics.FollowupOldestWait, `SELECT ` + dims + `, max(age) AS value FROM waiting WHERE calendar_age <= 30 * 86400 GROUP BY ` + dims},
	{metrics.FollowupAbandoned, `SELECT ` + dims + `, count(*) AS value FROM waiting WHERE calendar_age > 30 * 86400 GROUP BY ` + dims},
	{metrics.SpeedToLead + "_bucket", `SELECT le, ` + dims + `, count(*) FILTER (WHERE EXTRACT(EPOCH FROM first_any - created_at) <= bound) AS value
		FROM ls CROSS JOIN (VALUES ('60', 60), ('300', 300), ('900', 900), ('1800', 1800), ('3600', 3600), ('7200', 7200),
		  ('14400', 14400), ('28800', 28800), ('86400', 86400), ('172800', 172800), ('604800', 604800),
		  ('+Inf', 'Infinity'::float8)) b(le, bound)
		WHERE first_any IS NOT NULL GROUP BY le, ` + dims},
	{metrics.SpeedToLead + "_sum", `SELECT ` + dims + `, sum(EXTRACT(EPOCH FROM first_any - created_at)) AS value FROM ls WHERE first_any IS NOT NULL GROUP BY ` + dims},
	{metrics.SpeedToLead + "_count", `SELECT ` + dims + `, count(*) AS value FROM ls WHERE first_any IS NOT NULL GROUP BY ` + dims},
	{metrics.AttemptsMet, `SELECT ` + dims + `, count(*) AS value FROM fu WHERE attempts >= 2 GROUP BY ` + dims},
	{metrics.AttemptsMissed, `SELECT ` + dims + `, count(*) AS value FROM fu WHERE attempts < 2 AND $1::timestamptz >= mql_at + interval '72 hours' GROUP BY ` + dims},
	{metrics.SLATarget, `SELECT 3600 AS value`},
	{metrics.RevenueWon, `SELECT p.fiscal_period, COALESCE(sum(o.amount) FILTER (WHERE o.is_won AND o.closed_at >= p.start_at AND o.closed_at < p.end_at), 0) AS value
		FROM periods p CROSS JOIN opp o GROUP BY p.fiscal_period`},
	{metrics.PipelineOpen, `SELECT p.fiscal_period, COALESCE(sum(o.amount) FILTER (WHERE NOT o.is_closed
		  AND o.expected_close_date >= (p.start_at AT TIME ZONE 'UTC')::date AND o.expected_close_date < (p.end_at AT TIME ZONE 'UTC')::date), 0) AS value
		FROM periods p CROSS JOIN opp o GROUP BY p.fiscal_period`},
	// The config sets FY2026 and FY2026-Q3; in Q4 the quarter's target is a quarter of the year's.
	{metrics.RevenueTarget, `SELECT 'year' AS fiscal_period, 12000000.50 AS value UNION ALL SELECT 'quarter', round(12000000.50 / 4, 2)`},
	// The test config sets targets for FY2026 (and a quarter of it), none for other years.
	{metrics.TargetMissing, `SELECT fiscal_period, 'FY' || EXTRACT(YEAR FROM start_at AT TIME ZONE 'UTC')
		  || CASE WHEN fiscal_period = 'quarter' THEN '-Q' || EXTRACT(QUARTER FROM start_at AT TIME ZONE 'UTC') ELSE '' END AS name,
		  CASE WHEN EXTRACT(YEAR FROM start_at AT TIME ZONE 'UTC') = 2026 THEN 0 ELSE 1 END AS value FROM periods`},
	{metrics.PeriodElapsed, `SELECT fiscal_period, EXTRACT(EPOCH FROM $1::timestamptz - start_at) / EXTRACT(EPOCH FROM end_at - start_at) AS value FROM periods`},
	{metrics.PeriodStart, `SELECT fiscal_period, EXTRACT(EPOCH FROM start_at) AS value FROM periods`},
	{metrics.PeriodEnd, `SELECT fiscal_period, EXTRACT(EPOCH FROM end_at) AS value FROM periods`},
	{metrics.PeriodInfo, `SELECT fiscal_period, 'FY' || EXTRACT(YEAR FROM start_at AT TIME ZONE 'UTC')
		  || CASE WHEN fiscal_period = 'quarter' THEN '-Q' || EXTRACT(QUARTER FROM start_at AT TIME ZONE 'UTC') ELSE '' END AS name, 1 AS value FROM periods`},
	{metrics.ReportingCurrency, `SELECT 'USD' AS currency, 1 AS value`},
	// Campaign results, per producing campaign.
	{metrics.CampaignLeads, producer + `
		SELECT COALESCE(p.channel, 'unknown') AS channel, COALESCE(p.campaign, 'unknown') AS campaign, ls.source, st.funnel_stage, count(*) AS value
		FROM ls LEFT JOIN producer p ON p.lead_id = ls.id
		CROSS JOIN LATERAL (VALUES ('lead', true), ('mql', ls.mql_at IS NOT NULL), ('sql', ls.sql_at IS NOT NULL),
		  ('opportunity', ls.has_opp), ('won', ls.has_won)) st(funnel_stage, entered)
		WHERE st.entered GROUP BY 1, 2, 3, 4`},
	{metrics.CampaignDisqualified, producer + `
		SELECT COALESCE(p.channel, 'unknown') AS channel, COALESCE(p.campaign, 'unknown') AS campaign, ls.source, ls.reason AS disqualified_reason, count(*) AS value
		FROM ls LEFT JOIN producer p ON p.lead_id = ls.id WHERE ls.disqualified_at IS NOT NULL GROUP BY 1, 2, 3, 4`},
	// Marketing-sourced: the lead's source is a marketing channel, or its first touch (at or
	// before the opportunity's creation) is a campaign touch. Influenced: any campaign touch then.
	{metrics.SourcedRevenue, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE sourced AND is_won), 0) AS value FROM roles`},
	{metrics.SourcedPipeline, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE sourced AND NOT is_closed), 0) AS value FROM roles`},
	{metrics.InfluencedRevenue, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE influenced AND is_won), 0) AS value FROM roles`},
	{metrics.InfluencedPipeline, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE influenced AND NOT is_closed), 0) AS value FROM roles`},
	{metrics.DataQualityRows, `SELECT 'crm' AS database, query, "check", value FROM (
		SELECT 'leads' AS query, 'null_source' AS "check", (SELECT count(*) FROM leads WHERE NULLIF(TRIM(source), '') IS NULL) AS value
		UNION ALL SELECT 'leads', 'unknown_owner', (SELECT count(*) FROM leads l WHERE owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.id = l.owner_id))
		UNION ALL SELECT 'leads', 'unknown_status', (SELECT count(*) FROM ls WHERE NOT has_opp AND mapped IS NULL)
		UNION ALL SELECT 'activities', 'activity_unknown_lead', (SELECT count(*) FROM sales_activities a WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = a.lead_id))
		UNION ALL SELECT 'activities', 'activity_before_lead', (SELECT count(*) FROM sales_activities a JOIN leads l ON l.id = a.lead_id WHERE a.occurred_at < l.created_at)
		UNION ALL SELECT 'opportunities', 'currency_without_rate', (SELECT count(*) FROM opportunities op WHERE NOT EXISTS (SELECT 1 FROM rates r WHERE r.currency = COALESCE(NULLIF(upper(trim(op.currency)), ''), 'USD')))
		UNION ALL SELECT 'opportunities', 'opportunity_unknown_lead', (SELECT count(*) FROM opp WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = opp.lead_id))
		UNION ALL SELECT 'opportunities', 'won_without_close_time', (SELECT count(*) FROM opp WHERE is_won AND closed_at IS NULL)
		UNION ALL SELECT 'leads', 'stage_out_of_order', (SELECT count(*) FROM ld WHERE mql_at < created_at OR sql_at < mql_at OR sql_at < created_at OR disqualified_at < created_at)
		UNION ALL SELECT 'leads', 'timestamp_in_future', (SELECT count(*) FROM leads WHERE created_at > $1::timestamptz + interval '5 minutes')
		UNION ALL SELECT 'activities', 'timestamp_in_future', (SELECT count(*) FROM sales_activities a JOIN ld ON ld.id = a.lead_id
		  WHERE a.occurred_at >= ld.created_at AND a.occurred_at > $1::timestamptz + interval '5 minutes')
	) x WHERE value > 0`},
}

const rolesSQL = `
		SELECT opp.amount, opp.is_won, opp.is_closed,
		  (EXISTS (SELECT 1 FROM leads l WHERE l.id = opp.lead_id) AND (
		     (SELECT lower(COALESCE(NULLIF(TRIM(l.source), ''), 'unknown')) NOT IN ('unknown', 'outbound') FROM leads l WHERE l.id = opp.lead_id)
		     OR COALESCE((SELECT t.campaign_id IN (SELECT id FROM campaigns) FROM marketing_touchpoints t
		        WHERE t.lead_id = opp.lead_id ORDER BY t.occurred_at, t.id LIMIT 1)
		        AND (SELECT min(t.occurred_at) FROM marketing_touchpoints t WHERE t.lead_id = opp.lead_id) <= (SELECT created_at FROM opportunities o WHERE o.id = opp.id), false))) AS sourced,
		  (EXISTS (SELECT 1 FROM leads l WHERE l.id = opp.lead_id) AND EXISTS (SELECT 1 FROM marketing_touchpoints t JOIN campaigns c ON c.id = t.campaign_id
		     WHERE t.lead_id = opp.lead_id AND t.occurred_at <= (SELECT created_at FROM opportunities o WHERE o.id = opp.id))) AS influenced
		FROM opp`

var campaignExpectations = []struct{ metric, query string }{
	{metrics.CampaignSpend, `SELECT lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel, COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign,
		sum(round(s.spend * r.rate, 2)) AS value
		FROM campaign_daily_stats s JOIN campaigns c ON c.id = s.campaign_id
		JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(c.currency)), ''), 'USD') GROUP BY 1, 2`},
	{metrics.CampaignImpressions, `SELECT lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel, COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign,
		sum(s.impressions) AS value
		FROM campaign_daily_stats s JOIN campaigns c ON c.id = s.campaign_id
		JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(c.currency)), ''), 'USD') GROUP BY 1, 2`},
	{metrics.CampaignClicks, `SELECT lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel, COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign,
		sum(s.clicks) AS value
		FROM campaign_daily_stats s JOIN campaigns c ON c.id = s.campaign_id
		JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(c.currency)), ''), 'USD') GROUP BY 1, 2`},
	{metrics.MarketingTouchpoints, `SELECT lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel,
		lower(COALESCE(NULLIF(TRIM(t.kind), ''), 'unknown')) AS kind, count(*) AS value
		FROM marketing_touchpoints t LEFT JOIN campaigns c ON c.id = t.campaign_id GROUP BY 1, 2`},
	{metrics.DataQualityRows, `SELECT 'campaigns' AS database, query, "check", value FROM (
		SELECT 'touchpoints' AS query, 'touchpoint_unknown_campaign' AS "check",
		  (SELECT count(*) FROM marketing_touchpoints t WHERE campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = t.campaign_id)) AS value
		UNION ALL SELECT 'campaign_stats', 'stat_unknown_campaign', (SELECT count(*) FROM campaign_daily_stats s WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = s.campaign_id))
	) x WHERE value > 0`},
}

// published keeps the metrics the differential test checks: everything Tandem computes from the
// data, not the exporter's own health, which tests assert separately.
func published(name string) bool {
	if !strings.HasPrefix(name, "tandem_") || name == "tandem_exporter_build_info" {
		return false
	}
	for _, d := range metrics.Health {
		if d.Name == name && d.Name != metrics.DataQualityRows {
			return false
		}
	}
	return true
}

func (w *world) expected() map[string]float64 {
	want := map[string]float64{}
	for _, e := range crmExpectations {
		// A query starting with ", name AS (...)" adds CTEs to base's WITH list.
		expectSQL(w.t, w.crm, want, e.metric, base+e.query, w.now)
	}
	for k, v := range attributionReference(w.t, w.crm, w.now) {
		want[k] = v
	}
	for _, e := range campaignExpectations {
		expectSQL(w.t, w.camp, want, e.metric, `WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric)) `+e.query)
	}
	return want
}

// randomChanges moves the data the way a live CRM does between polls: the simulator's new leads,
// touches, qualifications, deals, wins and losses, plus late-synced first touches on old leads.
func (w *world) randomChanges(seed uint64, steps int) {
	w.t.Helper()
	ctx := context.Background()
	sim, err := demo.NewSimulator(ctx, w.crm, w.camp, seed)
	if err != nil {
		w.t.Fatal(err)
	}
	for i := 0; i < steps; i++ {
		w.now = w.now.Add(time.Duration(1+i%5) * time.Minute)
		if _, err := sim.Step(ctx, w.now); err != nil {
			w.t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var ids []int64
	if err := w.crm.Select(&ids, `SELECT id FROM leads l WHERE mql_at IS NOT NULL AND NOT EXISTS
		(SELECT 1 FROM sales_activities a WHERE a.lead_id = l.id) ORDER BY id LIMIT 20`); err != nil {
		w.t.Fatal(err)
	}
	for _, id := range ids {
		if r.IntN(2) == 0 {
			continue
		}
		// A touch logged late: dated some minutes after the lead qualified.
		if _, err := w.crm.Exec(`INSERT INTO sales_activities (id, lead_id, owner_id, kind, occurred_at, updated_at)
			SELECT (SELECT max(id) + 1 FROM sales_activities), id, owner_id, 'call', mql_at + $2 * interval '1 minute', $3 FROM leads WHERE id = $1`,
			id, 1+r.IntN(600), w.now); err != nil {
			w.t.Fatal(err)
		}
	}
}

// The SLA part of the test configuration: the attempts rule on, calendar time.
const slaAttempts = `
sla:
  attempts: {count: 2, within: 72h}
`

// Business hours in three regions, with holidays and a six-day week; the SQL twin is in
// businessHoursSQL.
const slaBusinessHours = `
sla:
  attempts: {count: 2, within: 72h}
  business_hours:
    default: {timezone: America/New_York, hours: "09:00-17:00", holidays: ["2026-11-26", "2026-07-03"]}
    regions:
      emea: {timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], hours: "08:30-17:30", holidays: ["2026-10-03", "2026-12-25"]}
      apac: {timezone: Asia/Tokyo, days: [mon, tue, wed, thu, fri, sat], hours: "10:00-19:00"}
`

const businessHoursSQL = `INSERT INTO bh_cal VALUES
  ('*', 'America/New_York', '09:00', '17:00', '{1,2,3,4,5}', '{2026-11-26,2026-07-03}'),
  ('emea', 'Europe/Berlin', '08:30', '17:30', '{1,2,3,4,5}', '{2026-10-03,2026-12-25}'),
  ('apac', 'Asia/Tokyo', '10:00', '19:00', '{1,2,3,4,5,6}', '{}')`

func TestDifferential(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			w := newWorld(t, seed, 2500, slaAttempts)
			e := w.exporter()
			poll(t, e)
			compare(t, "after load", series(t, e.Registry, published), w.expected())
			checkConservation(t, w, e)

			for round := 1; round <= 3; round++ {
				w.randomChanges(seed*100+uint64(round), 15)
				poll(t, e)
				compare(t, fmt.Sprintf("after change round %d", round), series(t, e.Registry, published), w.expected())
			}

			// A restart alone changes no value: a new exporter rebuilds the same numbers.
			fresh := w.exporter()
			poll(t, fresh)
			compare(t, "after restart", series(t, fresh.Registry, published), series(t, e.Registry, published))

			// The exporter's report on itself matches too.
			health := series(t, e.Registry, func(n string) bool { return n == metrics.Up || n == metrics.QueryRows || n == metrics.QueryErrors })
			for _, db := range []string{"crm", "campaigns"} {
				if health[seriesKey(metrics.Up, map[string]string{"database": db})] != 1 {
					t.Errorf("%s not up", db)
				}
			}
			var leads float64
			if err := w.crm.Get(&leads, "SELECT count(*) FROM leads"); err != nil {
				t.Fatal(err)
			}
			if got := health[seriesKey(metrics.QueryRows, map[string]string{"database": "crm", "query": "leads"})]; got <= leads || got > 4*leads {
				t.Errorf("rows read by the leads query over 4 polls = %v; the table has %v rows now", got, leads)
			}
			for k, v := range health {
				if strings.HasPrefix(k, metrics.QueryErrors) && v != 0 {
					t.Errorf("%s = %v", k, v)
				}
			}
		})
	}
}

// With business hours the SLA clock, waits and breaches follow each owner region's calendar.
func TestDifferentialBusinessHours(t *testing.T) {
	for _, seed := range []uint64{4, 5} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			w := newWorld(t, seed, 2000, slaBusinessHours)
			if _, err := w.crm.Exec(businessHoursSQL); err != nil {
				t.Fatal(err)
			}
			e := w.exporter()
			poll(t, e)
			compare(t, "after load", series(t, e.Registry, published), w.expected())
			w.randomChanges(seed*100, 20)
			poll(t, e)
			compare(t, "after changes", series(t, e.Registry, published), w.expected())
		})
	}
}

var _ = sqlx.Named
