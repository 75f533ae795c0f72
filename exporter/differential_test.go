package exporter_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/metrics"
)

// The independent computation: plain PostgreSQL over the same tables, written the way a sales-ops
// analyst writes it (WHERE event >= :period_start AND event < :period_end, in the company time
// zone), from the rules in docs/metrics.md rather than from the Go code. $1 is the exporter's
// clock, $2 the company time zone, $3 the fiscal year's first month. rates and status_map restate
// the test config and the documented default mapping.
const base = `
WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric)),
status_map(status, stage) AS (VALUES ('new','lead'), ('mql','mql'), ('working','mql'), ('sql','sql'),
  ('converted','opportunity'), ('disqualified','disqualified'), ('open - not contacted','mql'),
  ('working - contacted','mql'), ('closed - converted','opportunity'), ('closed - not converted','disqualified'),
  ('subscriber','lead'), ('lead','lead'), ('marketingqualifiedlead','mql'), ('salesqualifiedlead','sql'),
  ('opportunity','opportunity'), ('customer','won')),
probability(stage, p) AS (VALUES ('prospecting', 0.1), ('qualification', 0.1), ('needs analysis', 0.2),
  ('value proposition', 0.5), ('id. decision makers', 0.6), ('perception analysis', 0.7), ('proposal/price quote', 0.75),
  ('negotiation/review', 0.9), ('appointmentscheduled', 0.2), ('qualifiedtobuy', 0.4), ('presentationscheduled', 0.6),
  ('decisionmakerboughtin', 0.8), ('contractsent', 0.9), ('discovery', 0.1), ('demo', 0.3), ('proposal', 0.55),
  ('negotiation', 0.8), ('commit', 0.9)),
loc AS (SELECT $1::timestamptz AT TIME ZONE $2 AS n),
fy AS (SELECT date_trunc('month', n) - ((EXTRACT(MONTH FROM n)::int - $3::int + 12) % 12) * interval '1 month' AS y,
              date_trunc('month', n) - ((EXTRACT(MONTH FROM n)::int - $3::int + 12) % 3) * interval '1 month' AS q FROM loc),
lp(period, ls, le) AS (
  SELECT 'today', date_trunc('day', n), date_trunc('day', n) + interval '1 day' FROM loc
  UNION ALL SELECT 'yesterday', date_trunc('day', n) - interval '1 day', date_trunc('day', n) FROM loc
  UNION ALL SELECT 'this_week', date_trunc('week', n), date_trunc('week', n) + interval '7 days' FROM loc
  UNION ALL SELECT 'last_week', date_trunc('week', n) - interval '7 days', date_trunc('week', n) FROM loc
  UNION ALL SELECT 'this_month', date_trunc('month', n), date_trunc('month', n) + interval '1 month' FROM loc
  UNION ALL SELECT 'last_month', date_trunc('month', n) - interval '1 month', date_trunc('month', n) FROM loc
  UNION ALL SELECT 'this_quarter', q, q + interval '3 months' FROM fy
  UNION ALL SELECT 'last_quarter', q - interval '3 months', q FROM fy
  UNION ALL SELECT 'this_year', y, y + interval '1 year' FROM fy
  UNION ALL SELECT 'last_year', y - interval '1 year', y FROM fy),
periods AS (SELECT period, ls AT TIME ZONE $2 AS start_at, le AT TIME ZONE $2 AS end_at, ls::date AS start_day, le::date AS end_day,
  period IN ('today', 'this_week', 'this_month', 'this_quarter', 'this_year') AS current FROM lp),
ld AS (
  SELECT l.id, l.created_at,
         CASE WHEN l.mql_at <= $1::timestamptz + interval '5 minutes' THEN l.mql_at END AS mql_at,
         CASE WHEN l.sql_at <= $1::timestamptz + interval '5 minutes' THEN l.sql_at END AS sql_at,
         CASE WHEN l.disqualified_at <= $1::timestamptz + interval '5 minutes' THEN l.disqualified_at END AS disqualified_at,
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
         COALESCE(NULLIF(TRIM(op.stage_name), ''), 'unknown') AS stage, op.created_at,
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
  SELECT lead_id, min(created_at) AS first_opp, min(closed_at) FILTER (WHERE is_won) AS first_won,
         max(closed_at) FILTER (WHERE is_closed AND NOT is_won) AS last_lost,
         bool_or(is_won) AS has_won, bool_or(is_closed AND NOT is_won) AS has_lost, bool_or(NOT is_closed) AS has_open
  FROM opp GROUP BY lead_id),
ft AS (
  SELECT a.lead_id, MIN(a.occurred_at) FILTER (WHERE a.occurred_at >= ld.mql_at) AS first_touch,
         MIN(a.occurred_at) AS first_any,
         count(*) FILTER (WHERE a.occurred_at >= ld.mql_at AND a.occurred_at <= ld.mql_at + interval '72 hours') AS attempts
  FROM act a JOIN ld ON ld.id = a.lead_id
  WHERE a.kind IN ('call', 'email', 'meeting') GROUP BY a.lead_id),
ls AS (
  SELECT ld.*, ft.first_touch, ft.first_any, COALESCE(ft.attempts, 0) AS attempts,
         oa.lead_id IS NOT NULL AS has_opp, COALESCE(oa.has_won, false) AS has_won, COALESCE(oa.has_open, false) AS has_open,
         COALESCE(oa.has_lost, false) AS has_lost, oa.first_opp, oa.first_won,
         CASE WHEN NOT COALESCE(oa.has_won, false) AND NOT COALESCE(oa.has_open, false) THEN oa.last_lost END AS lost_at,
         sm.stage AS mapped,
         LEAST(ld.mql_at, ld.sql_at, oa.first_opp, oa.first_won) AS reached_mql,
         LEAST(ld.sql_at, oa.first_opp, oa.first_won) AS reached_sql,
         LEAST(oa.first_opp, oa.first_won) AS reached_opportunity,
         oa.first_won AS reached_won,
         LEAST(ld.disqualified_at, oa.first_opp) AS exit_at
  FROM ld LEFT JOIN ft ON ft.lead_id = ld.id LEFT JOIN oppagg oa ON oa.lead_id = ld.id
  LEFT JOIN status_map sm ON sm.status = ld.status),
fu AS (
  SELECT ls.*, tandem_due(mql_at, 3600, owner_region) AS due,
         tandem_bt(mql_at, first_touch, owner_region) AS latency,
         tandem_bt(mql_at, $1::timestamptz, owner_region) AS age,
         COALESCE(mapped IN ('won', 'lost', 'disqualified'), false) AS terminal
  FROM ls WHERE mql_at <= $1::timestamptz),
outcome AS (
  SELECT fu.*, CASE
      WHEN due IS NULL THEN NULL
      WHEN first_touch <= due THEN 'within'
      WHEN exit_at <= due THEN NULL
      WHEN first_touch IS NULL AND exit_at IS NULL AND terminal THEN NULL
      WHEN first_touch IS NOT NULL OR $1::timestamptz > due THEN 'breached'
    END AS sla
  FROM fu),
waiting AS (
  SELECT *, CASE WHEN $1::timestamptz > due THEN 'over' ELSE 'within' END AS sla_status
  FROM fu WHERE first_touch IS NULL AND exit_at IS NULL AND NOT terminal AND $1::timestamptz - mql_at <= interval '30 days')
`

const (
	sales = "region, segment, sales_team"
	lead  = "source, " + sales
)

// In a period: the rows of rel whose timestamp col falls in it.
func inPeriod(col string) string {
	return fmt.Sprintf("p.start_at <= %[1]s AND %[1]s < p.end_at", col)
}

// producer is each lead's producing campaign: the campaign of its last touch at or before its
// creation (ties: the higher touch id).
const producer = `, producer AS (
		SELECT DISTINCT ON (l.id) l.id AS lead_id, lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel,
		       COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign
		FROM leads l JOIN marketing_touchpoints t ON t.lead_id = l.id AND t.occurred_at <= l.created_at
		LEFT JOIN campaigns c ON c.id = t.campaign_id
		ORDER BY l.id, t.occurred_at DESC, t.id DESC)`

// cohorts lists every funnel step's cohort: the time the lead reached the step's first stage,
// and the time it reached the second (NULL if not yet).
const cohorts = `, cohort AS (
		SELECT id, ` + sales + `, step, f, t FROM ls CROSS JOIN LATERAL (VALUES
		  ('lead_to_mql', created_at, reached_mql), ('lead_to_sql', created_at, reached_sql),
		  ('lead_to_opportunity', created_at, reached_opportunity), ('lead_to_won', created_at, reached_won),
		  ('mql_to_sql', reached_mql, reached_sql), ('sql_to_opportunity', reached_sql, reached_opportunity),
		  ('opportunity_to_won', reached_opportunity, reached_won)) s(step, f, t) WHERE f IS NOT NULL)`

// stages lists every lead's stage entries by each stage's own timestamp.
const stages = `, entered AS (
		SELECT id, ` + sales + `, funnel_stage, at FROM ls CROSS JOIN LATERAL (VALUES
		  ('lead', created_at), ('mql', mql_at), ('sql', sql_at), ('opportunity', first_opp), ('won', first_won),
		  ('lost', lost_at), ('disqualified', disqualified_at)) s(funnel_stage, at) WHERE at IS NOT NULL)`

// quantile gives, for a query of (period, labels..., v) rows, the 0.5 and 0.9 percentile_cont.
func quantiles(labels, from string) string {
	sep := ""
	if labels != "" {
		sep = ", "
	}
	return fmt.Sprintf(`SELECT period%[2]s%[1]s, q.percentile, percentile_cont(q.qv) WITHIN GROUP (ORDER BY v) AS value
		FROM (%[3]s) x CROSS JOIN (VALUES ('50', 0.5::float8), ('90', 0.9::float8)) q(percentile, qv)
		GROUP BY period%[2]s%[1]s, q.percentile, q.qv`, labels, sep, from)
}

// periodic marks expectations whose series are published in every period once a label
// combination has rows in any: the SQL gives the non-zero ones, zeroFill the rest.
type expectation struct {
	metric, query string
	periodic      bool
}

var crmExpectations = []expectation{
	{metrics.LeadsCreated, `SELECT p.period, ` + lead + `, count(*) AS value FROM periods p JOIN ld ON ` + inPeriod("ld.created_at") + ` GROUP BY p.period, ` + lead, true},
	{metrics.FunnelStageEntered, stages + ` SELECT p.period, funnel_stage, ` + sales + `, count(*) AS value FROM periods p JOIN entered e ON ` + inPeriod("e.at") + `
		GROUP BY p.period, funnel_stage, ` + sales, true},
	{metrics.LeadsDisqualified, `SELECT p.period, reason AS disqualified_reason, count(*) AS value FROM periods p JOIN ld ON ` + inPeriod("ld.disqualified_at") + `
		GROUP BY p.period, reason`, true},
	{metrics.CohortLeads, cohorts + ` SELECT p.period, step AS funnel_step, ` + sales + `, count(*) AS value FROM periods p JOIN cohort c ON ` + inPeriod("c.f") + `
		GROUP BY p.period, step, ` + sales, true},
	{metrics.CohortConverted, cohorts + ` SELECT p.period, step AS funnel_step, ` + sales + `, count(*) AS value FROM periods p JOIN cohort c ON ` + inPeriod("c.f") + `
		WHERE c.t IS NOT NULL GROUP BY p.period, step, ` + sales, true},
	{metrics.FunnelVelocity, cohorts + " " + quantiles("funnel_step, "+sales, `SELECT p.period, step AS funnel_step, `+sales+`, GREATEST(0, EXTRACT(EPOCH FROM c.t - c.f))::float8 AS v
		FROM periods p JOIN cohort c ON `+inPeriod("c.f")+` WHERE c.t IS NOT NULL`), false},
	{metrics.FunnelVelocityOverall, cohorts + " " + quantiles("funnel_step", `SELECT p.period, step AS funnel_step, GREATEST(0, EXTRACT(EPOCH FROM c.t - c.f))::float8 AS v
		FROM periods p JOIN cohort c ON `+inPeriod("c.f")+` WHERE c.t IS NOT NULL`), false},
	{metrics.Leads, `SELECT funnel_stage, ` + sales + `, count(*) AS value FROM (
		SELECT CASE WHEN has_won THEN 'won' WHEN has_open THEN 'opportunity' WHEN has_lost THEN 'lost' ELSE mapped END AS funnel_stage, *
		FROM ls) x WHERE funnel_stage IS NOT NULL GROUP BY funnel_stage, ` + sales, false},
	{metrics.OpportunitiesCreated, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.created_at") + ` GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesCreatedAmt, `SELECT p.period, ` + sales + `, sum(amount) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.created_at") + ` GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesWon, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.closed_at") + ` WHERE is_won GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesWonAmt, `SELECT p.period, ` + sales + `, sum(amount) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.closed_at") + ` WHERE is_won GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesLost, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.closed_at") + ` WHERE is_closed AND NOT is_won GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesLostAmt, `SELECT p.period, ` + sales + `, sum(amount) AS value FROM periods p JOIN opp o ON ` + inPeriod("o.closed_at") + ` WHERE is_closed AND NOT is_won GROUP BY p.period, ` + sales, true},
	{metrics.OpportunitiesOpen, `SELECT stage AS opportunity_stage, ` + sales + `, count(*) AS value FROM opp WHERE NOT is_closed GROUP BY stage, ` + sales, false},
	{metrics.OpportunitiesOpenAmt, `SELECT stage AS opportunity_stage, ` + sales + `, sum(amount) AS value FROM opp WHERE NOT is_closed GROUP BY stage, ` + sales, false},
	{metrics.SalesTouches, `SELECT p.period, act.kind, ` + sales + `, count(*) AS value FROM periods p JOIN act ON ` + inPeriod("act.occurred_at") + ` JOIN ld ON ld.id = act.lead_id
		GROUP BY p.period, act.kind, ` + sales, true},
	{metrics.FollowupTime, quantiles(sales, `SELECT p.period, `+sales+`, latency::float8 AS v FROM periods p JOIN fu ON `+inPeriod("fu.mql_at")+` WHERE first_touch IS NOT NULL`), false},
	{metrics.FollowupTimeOverall, quantiles("", `SELECT p.period, latency::float8 AS v FROM periods p JOIN fu ON `+inPeriod("fu.mql_at")+` WHERE first_touch IS NOT NULL`), false},
	{metrics.SpeedToLead, quantiles(sales, `SELECT p.period, `+sales+`, EXTRACT(EPOCH FROM first_any - created_at)::float8 AS v FROM periods p JOIN ls ON `+inPeriod("ls.created_at")+` WHERE first_any IS NOT NULL`), false},
	{metrics.SpeedToLeadOverall, quantiles("", `SELECT p.period, EXTRACT(EPOCH FROM first_any - created_at)::float8 AS v FROM periods p JOIN ls ON `+inPeriod("ls.created_at")+` WHERE first_any IS NOT NULL`), false},
	{metrics.FollowupWithinSLA, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN outcome o ON ` + inPeriod("o.due") + ` WHERE sla = 'within' GROUP BY p.period, ` + sales, true},
	{metrics.FollowupBreached, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN outcome o ON ` + inPeriod("o.due") + ` WHERE sla = 'breached' GROUP BY p.period, ` + sales, true},
	{metrics.AttemptsMet, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN fu ON ` + inPeriod("fu.mql_at + interval '72 hours'") + ` WHERE attempts >= 2 GROUP BY p.period, ` + sales, true},
	{metrics.AttemptsMissed, `SELECT p.period, ` + sales + `, count(*) AS value FROM periods p JOIN fu ON ` + inPeriod("fu.mql_at + interval '72 hours'") + `
		WHERE attempts < 2 AND $1::timestamptz >= mql_at + interval '72 hours' GROUP BY p.period, ` + sales, true},
	{metrics.FollowupWaiting, `SELECT sla_status, ` + sales + `, count(*) AS value FROM waiting GROUP BY 1, ` + sales, false},
	{metrics.FollowupOldestWait, `SELECT ` + sales + `, max(age) AS value FROM waiting GROUP BY ` + sales, false},
	{metrics.RecentlyBreached, `SELECT ` + sales + `, count(*) AS value FROM waiting WHERE sla_status = 'over' AND $1::timestamptz - due <= interval '24 hours' GROUP BY ` + sales, false},
	{metrics.RecentlyBreachedOldest, `SELECT ` + sales + `, max(age) AS value FROM waiting WHERE sla_status = 'over' AND $1::timestamptz - due <= interval '24 hours' GROUP BY ` + sales, false},
	{metrics.FollowupAbandoned, `SELECT ` + sales + `, count(*) AS value FROM fu
		WHERE first_touch IS NULL AND exit_at IS NULL AND NOT terminal AND $1::timestamptz - mql_at > interval '30 days' GROUP BY ` + sales, false},
	{metrics.SLATarget, `SELECT 3600 AS value`, false},
	{metrics.PageWindow, `SELECT 86400 AS value`, false},
	{metrics.RevenueWon, `SELECT p.period, COALESCE(sum(o.amount) FILTER (WHERE o.is_won AND ` + inPeriod("o.closed_at") + `), 0) AS value
		FROM periods p CROSS JOIN opp o GROUP BY p.period`, false},
	{metrics.PipelineOpen, `SELECT p.period, COALESCE(sum(o.amount) FILTER (WHERE NOT o.is_closed
		  AND o.expected_close_date >= p.start_day AND o.expected_close_date < p.end_day), 0) AS value
		FROM periods p CROSS JOIN opp o WHERE p.current GROUP BY p.period`, false},
	{metrics.PipelineWeighted, `SELECT p.period, COALESCE(sum(round(o.amount * COALESCE(pr.p, 0.05), 2)) FILTER (WHERE NOT o.is_closed
		  AND o.expected_close_date >= p.start_day AND o.expected_close_date < p.end_day), 0) AS value
		FROM periods p CROSS JOIN opp o LEFT JOIN probability pr ON pr.stage = lower(o.stage) WHERE p.current GROUP BY p.period`, false},
	{metrics.PeriodElapsed, `SELECT period, CASE WHEN current THEN EXTRACT(EPOCH FROM $1::timestamptz - start_at) / EXTRACT(EPOCH FROM end_at - start_at) ELSE 1 END AS value FROM periods`, false},
	{metrics.PeriodStart, `SELECT period, EXTRACT(EPOCH FROM start_at) AS value FROM periods`, false},
	{metrics.PeriodEnd, `SELECT period, EXTRACT(EPOCH FROM end_at) AS value FROM periods`, false},
	{metrics.ReportingCurrency, `SELECT 'USD' AS currency, 1 AS value`, false},
	// Campaign results, per producing campaign: the cohort of the period's leads by the stages
	// they have reached.
	{metrics.CampaignLeads, producer + `
		SELECT p.period, COALESCE(pr.channel, 'unknown') AS channel, COALESCE(pr.campaign, 'unknown') AS campaign, st.funnel_stage, count(*) AS value
		FROM periods p JOIN ls ON ` + inPeriod("ls.created_at") + ` LEFT JOIN producer pr ON pr.lead_id = ls.id
		CROSS JOIN LATERAL (VALUES ('lead', true), ('mql', ls.reached_mql IS NOT NULL), ('sql', ls.reached_sql IS NOT NULL),
		  ('opportunity', ls.reached_opportunity IS NOT NULL), ('won', ls.reached_won IS NOT NULL)) st(funnel_stage, reached)
		WHERE st.reached GROUP BY 1, 2, 3, 4`, true},
	{metrics.CampaignDisqualified, producer + `
		SELECT p.period, COALESCE(pr.channel, 'unknown') AS channel, COALESCE(pr.campaign, 'unknown') AS campaign, ls.reason AS disqualified_reason, count(*) AS value
		FROM periods p JOIN ls ON ` + inPeriod("ls.disqualified_at") + ` LEFT JOIN producer pr ON pr.lead_id = ls.id GROUP BY 1, 2, 3, 4`, true},
	// Marketing-sourced: the lead's source is a marketing channel, or its first touch (at or
	// before the opportunity's creation) is a campaign touch. Influenced: any campaign touch then.
	{metrics.SourcedRevenue, `, roles AS (` + rolesSQL + `)
		SELECT p.period, COALESCE(sum(amount) FILTER (WHERE sourced AND is_won AND ` + inPeriod("r.closed_at") + `), 0) AS value FROM periods p CROSS JOIN roles r GROUP BY p.period`, false},
	{metrics.SourcedPipeline, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE sourced AND NOT is_closed), 0) AS value FROM roles`, false},
	{metrics.InfluencedRevenue, `, roles AS (` + rolesSQL + `)
		SELECT p.period, COALESCE(sum(amount) FILTER (WHERE influenced AND is_won AND ` + inPeriod("r.closed_at") + `), 0) AS value FROM periods p CROSS JOIN roles r GROUP BY p.period`, false},
	{metrics.InfluencedPipeline, `, roles AS (` + rolesSQL + `)
		SELECT COALESCE(sum(amount) FILTER (WHERE influenced AND NOT is_closed), 0) AS value FROM roles`, false},
	// The inflow windows: marketing sources only, (now-1h, now] and the same hour a week earlier;
	// both windows are published for a label set either has.
	{metrics.MarketingLeadsArrived, `, arr AS (
		SELECT w.win AS window, ` + lead + `, count(*) FILTER (WHERE ld.created_at > w.e - interval '1 hour' AND ld.created_at <= w.e) AS value
		FROM ld CROSS JOIN (VALUES ('last_hour', $1::timestamptz), ('same_hour_last_week', $1::timestamptz - interval '7 days')) w(win, e)
		WHERE ld.source NOT IN ('unknown', 'outbound') AND ld.created_at > $1::timestamptz - interval '7 days 1 hour'
		GROUP BY w.win, ` + lead + `)
		SELECT * FROM arr a WHERE EXISTS (SELECT 1 FROM arr b WHERE b.value > 0 AND (b.source, b.region, b.segment, b.sales_team) = (a.source, a.region, a.segment, a.sales_team))`, false},
	{metrics.DataQualityRows, `SELECT 'crm' AS database, query, "check", value FROM (
		SELECT 'leads' AS query, 'null_source' AS "check", (SELECT count(*) FROM leads WHERE NULLIF(TRIM(source), '') IS NULL AND created_at <= $1::timestamptz + interval '5 minutes') AS value
		UNION ALL SELECT 'leads', 'unknown_owner', (SELECT count(*) FROM ld l JOIN leads r ON r.id = l.id WHERE r.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM owners o WHERE o.id = r.owner_id))
		UNION ALL SELECT 'leads', 'unknown_status', (SELECT count(*) FROM ls WHERE NOT has_opp AND mapped IS NULL)
		UNION ALL SELECT 'activities', 'activity_unknown_lead', (SELECT count(*) FROM sales_activities a WHERE NOT EXISTS (SELECT 1 FROM ld l WHERE l.id = a.lead_id))
		UNION ALL SELECT 'activities', 'activity_before_lead', (SELECT count(*) FROM sales_activities a JOIN ld l ON l.id = a.lead_id WHERE a.occurred_at < l.created_at)
		UNION ALL SELECT 'opportunities', 'currency_without_rate', (SELECT count(*) FROM opportunities op WHERE NOT EXISTS (SELECT 1 FROM rates r WHERE r.currency = COALESCE(NULLIF(upper(trim(op.currency)), ''), 'USD')))
		UNION ALL SELECT 'opportunities', 'opportunity_unknown_lead', (SELECT count(*) FROM opp WHERE NOT EXISTS (SELECT 1 FROM ld l WHERE l.id = opp.lead_id))
		UNION ALL SELECT 'opportunities', 'won_without_close_time', (SELECT count(*) FROM opp WHERE is_won AND closed_at IS NULL)
		UNION ALL SELECT 'leads', 'stage_out_of_order', (SELECT count(*) FROM leads l WHERE l.created_at <= $1::timestamptz + interval '5 minutes'
		  AND (l.mql_at < l.created_at OR l.sql_at < l.mql_at OR l.sql_at < l.created_at OR l.disqualified_at < l.created_at))
		UNION ALL SELECT 'leads', 'timestamp_in_future', (SELECT count(*) FROM leads WHERE created_at > $1::timestamptz + interval '5 minutes')
		  + (SELECT count(*) FROM leads l, LATERAL (VALUES (l.mql_at), (l.sql_at), (l.disqualified_at)) s(t)
		     WHERE l.created_at <= $1::timestamptz + interval '5 minutes' AND s.t > $1::timestamptz + interval '5 minutes')
		UNION ALL SELECT 'activities', 'timestamp_in_future', (SELECT count(*) FROM sales_activities a JOIN ld ON ld.id = a.lead_id
		  WHERE a.occurred_at >= ld.created_at AND a.occurred_at > $1::timestamptz + interval '5 minutes')
	) x WHERE value > 0`, false},
}

const rolesSQL = `
		SELECT opp.amount, opp.is_won, opp.is_closed, opp.closed_at,
		  (EXISTS (SELECT 1 FROM ld l WHERE l.id = opp.lead_id) AND (
		     (SELECT lower(l.source) NOT IN ('unknown', 'outbound') FROM ld l WHERE l.id = opp.lead_id)
		     OR COALESCE((SELECT t.campaign_id IN (SELECT id FROM campaigns) FROM marketing_touchpoints t
		        WHERE t.lead_id = opp.lead_id ORDER BY t.occurred_at, t.id LIMIT 1)
		        AND (SELECT min(t.occurred_at) FROM marketing_touchpoints t WHERE t.lead_id = opp.lead_id) <= opp.created_at, false))) AS sourced,
		  (EXISTS (SELECT 1 FROM ld l WHERE l.id = opp.lead_id) AND EXISTS (SELECT 1 FROM marketing_touchpoints t JOIN campaigns c ON c.id = t.campaign_id
		     WHERE t.lead_id = opp.lead_id AND t.occurred_at <= opp.created_at)) AS influenced
		FROM opp`

// The campaign database's numbers, by the stat day and the touch time.
const campaignBase = `WITH rates(currency, rate) AS (VALUES ('USD', 1.0::numeric), ('EUR', 1.08::numeric), ('GBP', 1.27::numeric)),
loc AS (SELECT $1::timestamptz AT TIME ZONE $2 AS n),
fy AS (SELECT date_trunc('month', n) - ((EXTRACT(MONTH FROM n)::int - $3::int + 12) % 12) * interval '1 month' AS y,
              date_trunc('month', n) - ((EXTRACT(MONTH FROM n)::int - $3::int + 12) % 3) * interval '1 month' AS q FROM loc),
lp(period, ls, le) AS (
  SELECT 'today', date_trunc('day', n), date_trunc('day', n) + interval '1 day' FROM loc
  UNION ALL SELECT 'yesterday', date_trunc('day', n) - interval '1 day', date_trunc('day', n) FROM loc
  UNION ALL SELECT 'this_week', date_trunc('week', n), date_trunc('week', n) + interval '7 days' FROM loc
  UNION ALL SELECT 'last_week', date_trunc('week', n) - interval '7 days', date_trunc('week', n) FROM loc
  UNION ALL SELECT 'this_month', date_trunc('month', n), date_trunc('month', n) + interval '1 month' FROM loc
  UNION ALL SELECT 'last_month', date_trunc('month', n) - interval '1 month', date_trunc('month', n) FROM loc
  UNION ALL SELECT 'this_quarter', q, q + interval '3 months' FROM fy
  UNION ALL SELECT 'last_quarter', q - interval '3 months', q FROM fy
  UNION ALL SELECT 'this_year', y, y + interval '1 year' FROM fy
  UNION ALL SELECT 'last_year', y - interval '1 year', y FROM fy),
periods AS (SELECT period, ls AT TIME ZONE $2 AS start_at, le AT TIME ZONE $2 AS end_at, ls::date AS start_day, le::date AS end_day FROM lp),
stat AS (SELECT lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel, COALESCE(NULLIF(TRIM(c.name), ''), 'unknown') AS campaign,
		round(s.spend * r.rate, 2) AS spend, s.impressions, s.clicks, s.day
		FROM campaign_daily_stats s JOIN campaigns c ON c.id = s.campaign_id
		JOIN rates r ON r.currency = COALESCE(NULLIF(upper(trim(c.currency)), ''), 'USD'))
`

var campaignExpectations = []expectation{
	{metrics.CampaignSpend, `SELECT p.period, channel, campaign, sum(spend) AS value FROM periods p JOIN stat s ON s.day >= p.start_day AND s.day < p.end_day GROUP BY 1, 2, 3`, true},
	{metrics.CampaignImpressions, `SELECT p.period, channel, campaign, sum(impressions) AS value FROM periods p JOIN stat s ON s.day >= p.start_day AND s.day < p.end_day GROUP BY 1, 2, 3`, true},
	{metrics.CampaignClicks, `SELECT p.period, channel, campaign, sum(clicks) AS value FROM periods p JOIN stat s ON s.day >= p.start_day AND s.day < p.end_day GROUP BY 1, 2, 3`, true},
	{metrics.MarketingTouchpoints, `SELECT p.period, lower(COALESCE(NULLIF(TRIM(c.channel), ''), 'unknown')) AS channel,
		lower(COALESCE(NULLIF(TRIM(t.kind), ''), 'unknown')) AS kind, count(*) AS value
		FROM periods p JOIN marketing_touchpoints t ON p.start_at <= t.occurred_at AND t.occurred_at < p.end_at LEFT JOIN campaigns c ON c.id = t.campaign_id GROUP BY 1, 2, 3`, true},
	{metrics.DataQualityRows, `SELECT 'campaigns' AS database, query, "check", value FROM (
		SELECT 'touchpoints' AS query, 'touchpoint_unknown_campaign' AS "check",
		  (SELECT count(*) FROM marketing_touchpoints t WHERE campaign_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = t.campaign_id)) AS value
		UNION ALL SELECT 'campaign_stats', 'stat_unknown_campaign', (SELECT count(*) FROM campaign_daily_stats s WHERE NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.id = s.campaign_id))
	) x WHERE value > 0`, false},
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
	args := []any{w.now, w.tz, w.fiscalStart}
	for _, e := range crmExpectations {
		// A query starting with ", name AS (...)" adds CTEs to base's WITH list.
		got := map[string]float64{}
		expectSQL(w.t, w.crm, got, e.metric, base+e.query, args...)
		if e.periodic {
			got = zeroFill(got)
		}
		for k, v := range got {
			want[k] = v
		}
	}
	for k, v := range attributionReference(w.t, w) {
		want[k] = v
	}
	for k, v := range w.globalsExpected() {
		want[k] = v
	}
	for _, e := range campaignExpectations {
		got := map[string]float64{}
		expectSQL(w.t, w.camp, got, e.metric, campaignBase+e.query, args...)
		if e.periodic {
			got = zeroFill(got)
		}
		for k, v := range got {
			want[k] = v
		}
	}
	return want
}

// globalsExpected restates what the test configuration says about targets: FY2027 and its Q3
// have targets, other quarters of FY2027 a quarter of the year's, other years none.
func (w *world) globalsExpected() map[string]float64 {
	want := map[string]float64{}
	cal := fiscal.Calendar{StartMonth: time.Month(w.fiscalStart), Location: w.loc()}
	for _, sp := range cal.Spans(w.now) {
		want[seriesKey(metrics.PeriodInfo, map[string]string{"period": string(sp.Window), "name": sp.Name})] = 1
		if sp.Kind != fiscal.Quarter && sp.Kind != fiscal.Year {
			continue
		}
		target, ok := 0.0, false
		switch {
		case sp.Name == "FY2027":
			target, ok = 12000000.50, true
		case sp.Name == "FY2027-Q3":
			target, ok = 2500000, true
		case strings.HasPrefix(sp.Name, "FY2027-"):
			target, ok = 3000000.13, true // 1200000050 cents / 4, to the nearest cent
		}
		if ok {
			want[seriesKey(metrics.RevenueTarget, map[string]string{"period": string(sp.Window)})] = target
		}
		if sp.Window.Current() {
			missing := 1.0
			if ok {
				missing = 0
			}
			want[seriesKey(metrics.TargetMissing, map[string]string{"period": string(sp.Window), "name": sp.Name})] = missing
		}
	}
	return want
}

// zeroFill adds, for every label combination a period series has in any period, its zero series
// in the other periods: the exporter publishes a period count in every period once it exists.
func zeroFill(got map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range got {
		out[k] = v
		name, labels := parseKey(k)
		for _, win := range fiscal.Windows() {
			l := copyLabels(labels)
			l["period"] = string(win)
			if _, ok := got[seriesKey(name, l)]; !ok {
				out[seriesKey(name, l)] = 0
			}
		}
	}
	return out
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
		w.exec(`INSERT INTO sales_activities (id, lead_id, owner_id, kind, occurred_at, updated_at)
			SELECT (SELECT max(id) + 1 FROM sales_activities), id, owner_id, 'call', mql_at + $2 * interval '1 minute', $3 FROM leads WHERE id = $1`,
			id, 1+r.IntN(600), w.now)
	}
}

// lateAndBackward makes the changes that counters could not follow: rows that arrive late (an
// updated_at a little older than the newest one seen, inside watermark_overlap; a lead dated weeks
// back, synced now), and backward edits (a stage cleared, a won deal reopened as lost, a lead moved
// to another team, a lead moved to an earlier quarter).
func (w *world) lateAndBackward() {
	w.t.Helper()
	w.now = w.now.Add(2 * time.Minute)
	var newest time.Time
	if err := w.crm.Get(&newest, `SELECT max(updated_at) FROM leads WHERE updated_at <= $1`, w.now); err != nil {
		w.t.Fatal(err)
	}
	late := newest.Add(-3 * time.Minute) // inside the 5-minute overlap
	w.exec(`INSERT INTO leads (id, created_at, updated_at, source, region, segment, owner_id, status, mql_at)
		VALUES (900001, $1::timestamptz - interval '23 days', $2, 'webinar', 'na', 'smb', 1, 'MQL', $1::timestamptz - interval '22 days'),
		       (900002, $1::timestamptz - interval '95 days', $1, 'events', 'emea', 'enterprise', 9, 'SQL', $1::timestamptz - interval '94 days')`, w.now, late)
	w.exec(`UPDATE leads SET sql_at = NULL, status = 'MQL', updated_at = $1 WHERE id IN (SELECT id FROM leads WHERE sql_at IS NOT NULL ORDER BY id LIMIT 3)`, w.now)
	w.exec(`UPDATE opportunities SET is_won = false, stage_name = 'Closed Lost', updated_at = $1 WHERE id IN (SELECT id FROM opportunities WHERE is_won ORDER BY id LIMIT 3)`, w.now)
	w.exec(`UPDATE leads SET owner_id = 13, updated_at = $1 WHERE id IN (SELECT id FROM leads WHERE owner_id = 1 ORDER BY id LIMIT 2)`, w.now)
	w.exec(`UPDATE leads SET created_at = created_at - interval '100 days', mql_at = mql_at - interval '100 days', updated_at = $1
		WHERE id IN (SELECT id FROM leads WHERE created_at > $1::timestamptz - interval '30 days' AND sql_at IS NULL ORDER BY id LIMIT 3)`, w.now)
}

// hardDeletes removes rows the incremental reads cannot see; the clock moves past the
// reconciliation interval so that the next poll is a full read.
func (w *world) hardDeletes() {
	w.t.Helper()
	w.exec(`DELETE FROM sales_activities WHERE id IN (SELECT id FROM sales_activities ORDER BY id DESC LIMIT 5)`)
	w.exec(`DELETE FROM opportunities WHERE id IN (SELECT id FROM opportunities ORDER BY id LIMIT 2)`)
	w.exec(`DELETE FROM leads WHERE id IN (SELECT id FROM leads WHERE mql_at IS NOT NULL ORDER BY id DESC LIMIT 4)`)
	w.exec(`DELETE FROM marketing_touchpoints WHERE id IN (SELECT id FROM marketing_touchpoints ORDER BY id LIMIT 3)`)
	w.now = w.now.Add(61 * time.Minute)
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

// The instants the differential test runs at: an ordinary afternoon, the last second of a fiscal
// quarter and the first second of the next, and both DST changes, each in its own company time
// zone and with a fiscal year starting in February.
func differentialInstants(t *testing.T) []instants.Instant {
	out := []instants.Instant{{Name: "ordinary", Zone: time.UTC, At: demoNow}}
	for _, in := range instants.All(time.Now(), time.February) {
		switch in.Name {
		case "quarter-last-second", "quarter-first-second", "dst-spring-new-york", "dst-fall-berlin":
			out = append(out, in)
		}
	}
	if len(out) != 5 {
		t.Fatalf("instants: %v", out)
	}
	return out
}

func TestDifferential(t *testing.T) {
	for i, in := range differentialInstants(t) {
		seed := uint64(1 + i)
		t.Run(in.Name, func(t *testing.T) {
			w := newWorld(t, seed, 2500, slaAttempts, in)
			e := w.exporter()
			poll(t, e)
			compare(t, "after load", series(t, e.Registry, published), w.expected())
			checkConservation(t, w, e)

			for round := 1; round <= 2; round++ {
				w.randomChanges(seed*100+uint64(round), 15)
				poll(t, e)
				compare(t, fmt.Sprintf("after change round %d", round), series(t, e.Registry, published), w.expected())
			}
			w.lateAndBackward()
			poll(t, e)
			compare(t, "after late rows and backward edits", series(t, e.Registry, published), w.expected())
			w.hardDeletes()
			poll(t, e)
			compare(t, "after hard deletes and a reconciliation", series(t, e.Registry, published), w.expected())

			// A restart alone changes no value: a new exporter computes the same numbers.
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
			for k, v := range health {
				if strings.HasPrefix(k, metrics.QueryErrors) && v != 0 {
					t.Errorf("%s = %v", k, v)
				}
			}
		})
	}
}

// With business hours the SLA clock, deadlines, waits and breaches follow each owner region's
// calendar; the SQL computes deadlines with its own business-time function.
func TestDifferentialBusinessHours(t *testing.T) {
	for i, in := range differentialInstants(t)[:3] {
		seed := uint64(4 + i)
		t.Run(in.Name, func(t *testing.T) {
			w := newWorld(t, seed, 2000, slaBusinessHours, in)
			w.exec(businessHoursSQL)
			e := w.exporter()
			poll(t, e)
			compare(t, "after load", series(t, e.Registry, published), w.expected())
			w.randomChanges(seed*100, 20)
			poll(t, e)
			compare(t, "after changes", series(t, e.Registry, published), w.expected())
		})
	}
}
