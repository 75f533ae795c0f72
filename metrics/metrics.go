// Package metrics is the catalogue of every metric Tandem publishes: name, type, labels and
// meaning. The collectors build their descriptors from it, docs/metrics.md is generated from it,
// and the dashboards and alert rules take metric names from these constants, so a number is named
// and defined once.
//
// Every business number is a gauge recomputed from the rows at each poll, by event time: the
// rows whose event timestamp (Def.Event) falls in the period named by the period label, in the
// company time zone and fiscal calendar, whenever the row arrived. Counters are only for what
// Tandem itself does (polls, errors, rows read).
package metrics

import (
	"strconv"
	"strings"
)

// Namespace prefixes every metric.
const Namespace = "tandem"

// Type is a Prometheus metric type.
type Type string

const (
	Counter Type = "counter"
	Gauge   Type = "gauge"
)

// Label names shared by several metrics.
const (
	LabelPeriod             = "period"
	LabelFunnelStage        = "funnel_stage"
	LabelFunnelStep         = "funnel_step"
	LabelDisqualifiedReason = "disqualified_reason"
	LabelKind               = "kind"
	LabelSLAStatus          = "sla_status"
	LabelOpportunityStage   = "opportunity_stage"
	LabelName               = "name"
	LabelChannel            = "channel"
	LabelDatabase           = "database"
	LabelQuery              = "query"
	LabelCheck              = "check"
	LabelCurrency           = "currency"
	LabelCampaign           = "campaign"
	LabelModel              = "model"
	// LabelPercentile is the percentile (50, 90) of an exact-quantile gauge; not "quantile",
	// which Prometheus reserves for summaries.
	LabelPercentile = "percentile"
	LabelWindow     = "window"
)

// Lead dimension labels: which of them a metric carries is configured (labels.*.enabled) and
// limited by the metric's Dims.
const (
	DimSource    = "source"
	DimRegion    = "region"
	DimSegment   = "segment"
	DimSalesTeam = "sales_team"
	DimOwner     = "owner"
)

// Label values with a fixed meaning.
const (
	ValueUnknown = "unknown" // NULL or empty in the database
	ValueOther   = "other"   // folded: beyond the label's max_values
	SLAWithin    = "within"
	SLAOver      = "over"
	// ValueUnattributed is the channel and campaign of won revenue that no touch explains.
	ValueUnattributed = "unattributed"
	// Windows of tandem_marketing_leads_arrived.
	WindowLastHour         = "last_hour"
	WindowSameHourLastWeek = "same_hour_last_week"
)

// Dims says which lead dimension labels a metric carries.
type Dims int

const (
	// NoDims: totals only.
	NoDims Dims = iota
	// SalesDims: the enabled sales dimensions (sales_team, region; segment and owner when
	// enabled): the team dashboards' breakdown.
	SalesDims
	// LeadDims: source, then the sales dimensions.
	LeadDims
)

// Percentiles are the percentiles a quantile gauge publishes.
var Percentiles = []int{50, 90}

// PercentileLabel is a percentile's label value: "50".
func PercentileLabel(p int) string { return strconv.Itoa(p) }

// Def describes one metric.
type Def struct {
	Name   string
	Type   Type
	Labels []string // fixed labels, before the lead dimensions
	Dims   Dims
	Unit   string // for documentation: seconds, currency, ratio, leads, ...
	Help   string
	// Event names the timestamp that puts a row in a period, for period metrics; empty for a
	// value of now.
	Event string
	// Quantile marks a gauge of exact quantiles (LabelPercentile) over the period's rows.
	Quantile bool
}

// NeedActivities are the families computed from the activities query: with it disabled
// (databases.crm.disabled_queries), they are not published, since every lead would look untouched.
var NeedActivities = map[string]bool{
	SalesTouches: true, FollowupTime: true, FollowupTimeOverall: true, SpeedToLead: true, SpeedToLeadOverall: true,
	FollowupWithinSLA: true, FollowupBreached: true, AttemptsMet: true, AttemptsMissed: true,
	FollowupWaiting: true, FollowupOldestWait: true, FollowupAbandoned: true,
	RecentlyBreached: true, RecentlyBreachedOldest: true, SLATarget: true, PageWindow: true,
}

// Periodic reports whether the metric is one gauge per period (it carries the period label).
func (d Def) Periodic() bool { return len(d.Labels) > 0 && d.Labels[0] == LabelPeriod }

// Metric names. Amounts are in the reporting currency's unit; no business metric is a counter.
const (
	LeadsCreated            = "tandem_leads_created"
	FunnelStageEntered      = "tandem_funnel_stage_entered_leads"
	LeadsDisqualified       = "tandem_leads_disqualified"
	CohortLeads             = "tandem_funnel_cohort_leads"
	CohortConverted         = "tandem_funnel_cohort_converted_leads"
	FunnelVelocity          = "tandem_funnel_velocity_seconds"
	FunnelVelocityOverall   = "tandem_funnel_velocity_overall_seconds"
	Leads                   = "tandem_leads"
	OpportunitiesCreated    = "tandem_opportunities_created"
	OpportunitiesCreatedAmt = "tandem_opportunities_created_amount"
	OpportunitiesWon        = "tandem_opportunities_won"
	OpportunitiesWonAmt     = "tandem_opportunities_won_amount"
	OpportunitiesLost       = "tandem_opportunities_lost"
	OpportunitiesLostAmt    = "tandem_opportunities_lost_amount"
	OpportunitiesOpen       = "tandem_opportunities_open"
	OpportunitiesOpenAmt    = "tandem_opportunities_open_amount"
	SalesTouches            = "tandem_sales_touches"
	FollowupTime            = "tandem_followup_time_seconds"
	FollowupTimeOverall     = "tandem_followup_time_overall_seconds"
	SpeedToLead             = "tandem_speed_to_lead_seconds"
	SpeedToLeadOverall      = "tandem_speed_to_lead_overall_seconds"
	FollowupWithinSLA       = "tandem_followup_within_sla_leads"
	FollowupBreached        = "tandem_followup_breached_sla_leads"
	AttemptsMet             = "tandem_followup_attempts_met_leads"
	AttemptsMissed          = "tandem_followup_attempts_missed_leads"
	FollowupWaiting         = "tandem_followup_waiting_leads"
	FollowupOldestWait      = "tandem_followup_oldest_wait_seconds"
	FollowupAbandoned       = "tandem_followup_abandoned_leads"
	RecentlyBreached        = "tandem_followup_recently_breached_leads"
	RecentlyBreachedOldest  = "tandem_followup_recently_breached_oldest_wait_seconds"
	SLATarget               = "tandem_sla_target_seconds"
	PageWindow              = "tandem_sla_page_window_seconds"
	RevenueWon              = "tandem_revenue_won"
	RevenueTarget           = "tandem_revenue_target"
	PipelineOpen            = "tandem_pipeline_open_amount"
	PipelineWeighted        = "tandem_pipeline_weighted_amount"
	PeriodElapsed           = "tandem_period_elapsed_ratio"
	PeriodStart             = "tandem_period_start_timestamp_seconds"
	PeriodEnd               = "tandem_period_end_timestamp_seconds"
	PeriodInfo              = "tandem_period_info"
	ReportingCurrency       = "tandem_reporting_currency_info"
	TargetMissing           = "tandem_data_quality_revenue_target_missing"
	MarketingLeadsArrived   = "tandem_marketing_leads_arrived"
	CampaignLeads           = "tandem_campaign_leads"
	CampaignDisqualified    = "tandem_campaign_leads_disqualified"
	AttributedRevenue       = "tandem_attributed_revenue"
	SourcedRevenue          = "tandem_marketing_sourced_revenue"
	InfluencedRevenue       = "tandem_marketing_influenced_revenue"
	SourcedPipeline         = "tandem_marketing_sourced_pipeline_amount"
	InfluencedPipeline      = "tandem_marketing_influenced_pipeline_amount"
	CampaignSpend           = "tandem_campaign_spend"
	CampaignImpressions     = "tandem_campaign_impressions"
	CampaignClicks          = "tandem_campaign_clicks"
	MarketingTouchpoints    = "tandem_marketing_touchpoints"
	Up                      = "tandem_up"
	LastSuccessfulPoll      = "tandem_last_successful_poll_timestamp_seconds"
	PollDuration            = "tandem_poll_duration_seconds"
	PollInterval            = "tandem_poll_interval_seconds"
	Polls                   = "tandem_polls_total"
	PollFailures            = "tandem_poll_failures_total"
	QueryErrors             = "tandem_query_errors_total"
	QueryRows               = "tandem_query_rows_read_total"
	QueryDuration           = "tandem_query_duration_seconds"
	FullReads               = "tandem_full_reads_total"
	TallyRebuilds           = "tandem_tally_rebuilds_total"
	ReconciliationDrift     = "tandem_reconciliation_drift_rows_total"
	DataQualityRows         = "tandem_data_quality_problem_rows"
	ExporterMapped          = "tandem_exporter_mapped_bytes"
)

// Event timestamps, as docs/metrics.md names them.
const (
	evCreated    = "the lead's created_at"
	evStage      = "each stage's own timestamp (see the funnel stages)"
	evDisq       = "the lead's disqualified_at"
	evCohort     = "the time the lead reached the step's first stage"
	evOppCreated = "the opportunity's created_at"
	evClosed     = "the opportunity's closed_at"
	evTouch      = "the activity's occurred_at"
	evDeadline   = "the lead's SLA deadline (clock start + sla.target, in business hours when set)"
	evClockStart = "the lead's SLA clock start (sla.clock_start)"
	evWindowEnd  = "the end of the lead's attempts window (clock start + sla.attempts.within)"
	evWon        = "the won opportunity's closed_at (the win date)"
	evExpected   = "the open opportunity's expected_close_date"
	evStatDay    = "the campaign stat's day"
	evTouchpoint = "the touchpoint's occurred_at"
)

// EventPeriod is the Event of the metrics that describe a period itself (its bounds, elapsed share,
// target), not rows in it.
const EventPeriod = "the period itself"

// pl is the period label before the others.
func pl(labels ...string) []string { return append([]string{LabelPeriod}, labels...) }

// Funnel, follow-up and revenue metrics from the CRM database.
var CRM = []Def{
	{LeadsCreated, Gauge, pl(), LeadDims, "leads", "Leads created in the period: rows of the leads query whose created_at falls in it.", evCreated, false},
	{FunnelStageEntered, Gauge, pl(LabelFunnelStage), SalesDims, "leads", "Leads that entered each funnel stage in the period, by that stage's own timestamp (lead: created_at; mql: mql_at; sql: sql_at; opportunity: the first opportunity's created_at; won: the first won opportunity's closed_at; lost: the last lost opportunity's closed_at once no deal is open or won; disqualified: disqualified_at). A flow count: compare stages with the cohort metrics, not with each other.", evStage, false},
	{LeadsDisqualified, Gauge, pl(LabelDisqualifiedReason), NoDims, "leads", "Leads disqualified (rejected by sales) in the period, by reason: sales' verdict on lead quality.", evDisq, false},
	{CohortLeads, Gauge, pl(LabelFunnelStep), SalesDims, "leads", "The cohort of a funnel step: leads that reached the step's first stage in the period (funnel_step lead_to_mql: created in the period; mql_to_sql: became MQL in the period; ...). A lead reaches a stage when it enters it or any later stage of lead → mql → sql → opportunity → won.", evCohort, false},
	{CohortConverted, Gauge, pl(LabelFunnelStep), SalesDims, "leads", "Of the step's cohort, the leads that have reached the step's second stage by now: the cohort conversion is this ÷ tandem_funnel_cohort_leads, between 0 and 1 by construction. The lead_to_* steps give the period's funnel, which never widens.", evCohort, false},
	{FunnelVelocity, Gauge, pl(LabelFunnelStep, LabelPercentile), SalesDims, "seconds", "Funnel velocity: exact quantiles (percentile_cont) of the time the step's converted leads took from its first stage to its second; lead_to_won is the sales cycle. Absent while no lead of the cohort converted.", evCohort, true},
	{FunnelVelocityOverall, Gauge, pl(LabelFunnelStep, LabelPercentile), NoDims, "seconds", "As tandem_funnel_velocity_seconds, over every lead of the cohort (quantiles cannot be added up across teams).", evCohort, true},
	{Leads, Gauge, []string{LabelFunnelStage}, SalesDims, "leads", "Leads in each funnel stage now: the CRM status mapped by funnel.status_map, overridden by the lead's opportunities (any won: won; else any open: opportunity; else lost).", "", false},
	{OpportunitiesCreated, Gauge, pl(), SalesDims, "opportunities", "Opportunities created in the period.", evOppCreated, false},
	{OpportunitiesCreatedAmt, Gauge, pl(), SalesDims, "currency", "Amount of the opportunities created in the period, in the reporting currency.", evOppCreated, false},
	{OpportunitiesWon, Gauge, pl(), SalesDims, "opportunities", "Opportunities closed won in the period (a won deal without closed_at is in no period).", evClosed, false},
	{OpportunitiesWonAmt, Gauge, pl(), SalesDims, "currency", "Revenue of the opportunities closed won in the period, in the reporting currency.", evClosed, false},
	{OpportunitiesLost, Gauge, pl(), SalesDims, "opportunities", "Opportunities closed lost in the period. Win rate = won ÷ (won + lost) of the same period.", evClosed, false},
	{OpportunitiesLostAmt, Gauge, pl(), SalesDims, "currency", "Amount of the opportunities closed lost in the period, in the reporting currency.", evClosed, false},
	{OpportunitiesOpen, Gauge, []string{LabelOpportunityStage}, SalesDims, "opportunities", "Open opportunities now, by the CRM's pipeline stage.", "", false},
	{OpportunitiesOpenAmt, Gauge, []string{LabelOpportunityStage}, SalesDims, "currency", "Amount of the open opportunities now, by pipeline stage, in the reporting currency.", "", false},
	{SalesTouches, Gauge, pl(LabelKind), SalesDims, "activities", "Sales activities (calls, e-mails, meetings, ...) on known leads that occurred in the period, by kind.", evTouch, false},
	{FollowupTime, Gauge, pl(LabelPercentile), SalesDims, "seconds", "SLA time to first touch: exact quantiles (percentile_cont) over the leads whose SLA clock started in the period and that have had a qualifying touch, of the time from clock start to the first qualifying touch, in business hours of the owner's region when sla.business_hours is set.", evClockStart, true},
	{FollowupTimeOverall, Gauge, pl(LabelPercentile), NoDims, "seconds", "As tandem_followup_time_seconds, over every lead (quantiles cannot be added up across teams).", evClockStart, true},
	{SpeedToLead, Gauge, pl(LabelPercentile), SalesDims, "seconds", "Speed to lead: exact quantiles (percentile_cont) over the leads created in the period that have had a qualifying touch, of the calendar time from creation to the first qualifying touch (routing delays included).", evCreated, true},
	{SpeedToLeadOverall, Gauge, pl(LabelPercentile), NoDims, "seconds", "As tandem_speed_to_lead_seconds, over every lead (quantiles cannot be added up across teams).", evCreated, true},
	{FollowupWithinSLA, Gauge, pl(), SalesDims, "leads", "Leads whose SLA deadline falls in the period and that got their first qualifying touch by the deadline. SLA compliance = within ÷ (within + breached) of the same period.", evDeadline, false},
	{FollowupBreached, Gauge, pl(), SalesDims, "leads", "Leads whose SLA deadline falls in the period and passed without a qualifying touch (the breach happens at the deadline and stays a breach if a late touch comes). A lead that left the queue untouched before its deadline (disqualified, or an opportunity created) is neither within nor breached.", evDeadline, false},
	{AttemptsMet, Gauge, pl(), SalesDims, "leads", "Leads whose attempts window (sla.attempts.within from the clock start) ends in the period and that got at least sla.attempts.count qualifying touches in it (only with sla.attempts).", evWindowEnd, false},
	{AttemptsMissed, Gauge, pl(), SalesDims, "leads", "Leads whose attempts window ended in the period, by now, with fewer than sla.attempts.count qualifying touches (only with sla.attempts).", evWindowEnd, false},
	{FollowupWaiting, Gauge, []string{LabelSLAStatus}, SalesDims, "leads", "Leads waiting for a first qualifying touch now (clock started, not disqualified, no opportunity, not in a terminal stage, not abandoned): within = before the deadline, over = past it.", "", false},
	{FollowupOldestWait, Gauge, nil, SalesDims, "seconds", "SLA time waited so far by the oldest lead still waiting for a first qualifying touch.", "", false},
	{FollowupAbandoned, Gauge, nil, SalesDims, "leads", "Untouched leads whose clock started longer ago than sla.waiting_max_age: no longer counted as waiting (they stay breached).", "", false},
	{RecentlyBreached, Gauge, nil, SalesDims, "leads", "Leads still waiting whose deadline passed within the last sla.page_window (default 24h): the breaches the on-call is paged for. The older backlog is a ticket for the team lead.", "", false},
	{RecentlyBreachedOldest, Gauge, nil, SalesDims, "seconds", "SLA time waited so far by the oldest of the recently breached leads.", "", false},
	{SLATarget, Gauge, nil, NoDims, "seconds", "The configured follow-up SLA target (sla.target).", "", false},
	{PageWindow, Gauge, nil, NoDims, "seconds", "The configured sla.page_window: how long after its deadline an untouched lead still pages.", "", false},
	{RevenueWon, Gauge, pl(), NoDims, "currency", "Revenue won in the period: the amounts of the opportunities closed won in it, in the reporting currency; the number the shared target is measured with.", evClosed, false},
	{RevenueTarget, Gauge, pl(), NoDims, "currency", "The shared revenue target of the period (fiscal quarters and years), from targets.revenue; a quarter without its own target gets a quarter of its year's.", EventPeriod, false},
	{PipelineOpen, Gauge, pl(), NoDims, "currency", "Open pipeline expected to close in the period (this day, week, month, quarter or year), in the reporting currency.", evExpected, false},
	{PipelineWeighted, Gauge, pl(), NoDims, "currency", "As tandem_pipeline_open_amount, each deal weighted by its stage's win probability (funnel.stage_probability; funnel.default_stage_probability for a stage it does not name), rounded to the cent per deal: the pipeline's expected revenue in the period. The wall projects won + this.", evExpected, false},
	{PeriodElapsed, Gauge, pl(), NoDims, "ratio", "Share of the period elapsed at the last poll (0-1; 1 for previous periods): linear pace expects target × this by now.", EventPeriod, false},
	{PeriodStart, Gauge, pl(), NoDims, "seconds", "Start of the period, Unix time.", EventPeriod, false},
	{PeriodEnd, Gauge, pl(), NoDims, "seconds", "End (exclusive) of the period, Unix time.", EventPeriod, false},
	{PeriodInfo, Gauge, pl(LabelName), NoDims, "info", "The period's name (2026-12-01, 2026-W49, 2026-12, FY2026-Q4, FY2026); always 1.", EventPeriod, false},
	{ReportingCurrency, Gauge, []string{LabelCurrency}, NoDims, "info", "The reporting currency every amount is converted to; always 1.", "", false},
	{TargetMissing, Gauge, pl(LabelName), NoDims, "bool", "1 when the current fiscal quarter or year (name: FY2027-Q1) has no revenue target in targets.revenue (nor, for a quarter, its year's), else 0: pace cannot be computed until one is set.", EventPeriod, false},
	{MarketingLeadsArrived, Gauge, []string{LabelWindow}, LeadDims, "leads", "Leads from marketing sources (not in funnel.sales_sources, not unknown) created in the hour before now (window last_hour) and in the same hour one week earlier (same_hour_last_week): the inflow alert compares the two.", evCreated, false},
	{CampaignLeads, Gauge, pl(LabelChannel, LabelCampaign, LabelFunnelStage), NoDims, "leads", "The leads each campaign produced that were created in the period (the campaign of the lead-creation touch: the last touch at or before creation; \"unknown\" without one), by the funnel stage they have reached by now (lead: all of them; mql, sql, opportunity, won): a cohort funnel per campaign, never widening. Accepted by sales = funnel_stage=\"sql\".", evCreated, false},
	{CampaignDisqualified, Gauge, pl(LabelChannel, LabelCampaign, LabelDisqualifiedReason), NoDims, "leads", "Leads disqualified in the period, by the campaign that produced them and the reason: sales' feedback on lead quality, for marketing.", evDisq, false},
	{AttributedRevenue, Gauge, pl(LabelModel, LabelChannel, LabelCampaign), NoDims, "currency", "Revenue won in the period attributed to the campaigns of the lead's touches before the win, under each attribution model (docs/metrics.md gives the rules), split to the cent. Revenue no touch explains is channel=campaign=\"unattributed\"; per model and period the sum over all series is tandem_revenue_won.", evWon, false},
	{SourcedRevenue, Gauge, pl(), NoDims, "currency", "Revenue won in the period that marketing sourced: the lead's source is a marketing channel (not in funnel.sales_sources) or its first touch before the opportunity was created is a campaign touch. Never add to influenced revenue.", evWon, false},
	{InfluencedRevenue, Gauge, pl(), NoDims, "currency", "Revenue won in the period that marketing influenced: the lead had at least one campaign touch at or before the opportunity was created. Never add to sourced revenue.", evWon, false},
	{SourcedPipeline, Gauge, nil, NoDims, "currency", "Open pipeline now that marketing sourced (as for tandem_marketing_sourced_revenue).", "", false},
	{InfluencedPipeline, Gauge, nil, NoDims, "currency", "Open pipeline now that marketing influenced (as for tandem_marketing_influenced_revenue).", "", false},
}

// Campaign metrics from the campaign database.
var Campaign = []Def{
	{CampaignSpend, Gauge, pl(LabelChannel, LabelCampaign), NoDims, "currency", "Campaign spend of the days in the period (sum of daily spend), in the reporting currency. campaign is the campaign's name for the top labels.campaign.max_values campaigns by spend, else \"other\".", evStatDay, false},
	{CampaignImpressions, Gauge, pl(LabelChannel, LabelCampaign), NoDims, "impressions", "Campaign ad impressions of the days in the period.", evStatDay, false},
	{CampaignClicks, Gauge, pl(LabelChannel, LabelCampaign), NoDims, "clicks", "Campaign clicks of the days in the period. CTR = clicks ÷ impressions of the same period.", evStatDay, false},
	{MarketingTouchpoints, Gauge, pl(LabelChannel, LabelKind), NoDims, "touchpoints", "Marketing touchpoints of leads with campaigns that occurred in the period, by the campaign's channel and the touch kind.", evTouchpoint, false},
}

// Health metrics: the exporter reporting on itself.
var Health = []Def{
	{Up, Gauge, []string{LabelDatabase}, NoDims, "bool", "1 if the last poll of the database succeeded, else 0.", "", false},
	{LastSuccessfulPoll, Gauge, []string{LabelDatabase}, NoDims, "seconds", "Unix time of the last successful poll, on the exporter host's clock; data age = time() - this.", "", false},
	{PollDuration, Gauge, []string{LabelDatabase}, NoDims, "seconds", "Duration of the last poll.", "", false},
	{PollInterval, Gauge, []string{LabelDatabase}, NoDims, "seconds", "The configured poll interval: data is stale when time() - last successful poll exceeds a few of these.", "", false},
	{Polls, Counter, []string{LabelDatabase}, NoDims, "polls", "Polls started.", "", false},
	{PollFailures, Counter, []string{LabelDatabase}, NoDims, "polls", "Polls that failed; the previous values stay published.", "", false},
	{QueryErrors, Counter, []string{LabelDatabase, LabelQuery}, NoDims, "errors", "Queries that failed.", "", false},
	{QueryRows, Counter, []string{LabelDatabase, LabelQuery}, NoDims, "rows", "Rows read by each query.", "", false},
	{QueryDuration, Gauge, []string{LabelDatabase, LabelQuery}, NoDims, "seconds", "Duration of each query in the last poll.", "", false},
	{FullReads, Counter, []string{LabelDatabase}, NoDims, "polls", "Polls that checked every row: the first reads them all, and every reconcile_interval one compares the digests of every row, summed per lead by the database, with Tandem's; the others read only rows changed since the last poll.", "", false},
	{TallyRebuilds, Counter, []string{LabelDatabase}, NoDims, "polls", "Polls that recomputed the numbers from every row held (start-up; after a change every lead depends on: an owner, a campaign; the clock going back, or jumping past periods that many rows are dated in); the others recompute only the leads (or campaign rows) that changed, those waiting on the clock, and at a roll-over those dated in the new periods (the other numbers move to the window their period now is: yesterday is the day that was today).", "", false},
	{ReconciliationDrift, Counter, []string{LabelDatabase, LabelQuery, LabelKind}, NoDims, "rows", "What a reconciliation found that incremental reads had missed, from the digests of each lead's rows: kind=\"deleted\" counts rows gone (hard-deleted), kind=\"changed\" the leads whose rows changed without a newer updated_at.", "", false},
	{ExporterMapped, Gauge, nil, NoDims, "bytes", "Memory the exporter's stores of leads' and touches' records hold outside the Go heap (mapped), which go_memstats_* do not count: with go_memstats_heap_inuse_bytes, most of what the exporter holds. A memory limit (GOMEMLIMIT, --auto-gomemlimit) is one on both: the runtime is given it less this.", "", false},
	{DataQualityRows, Gauge, []string{LabelDatabase, LabelQuery, LabelCheck}, NoDims, "rows", "Rows in the database now that fail a data-quality check; see docs/metrics.md for what each check does with the row.", "", false},
}

// catalogue is every list of metrics (All, Lookup).
var catalogue = [...][]Def{CRM, Campaign, Health}

// All lists every metric in the catalogue.
func All() []Def {
	var out []Def
	for _, defs := range catalogue {
		out = append(out, defs...)
	}
	return out
}

// Lookup returns a metric's definition. It walks the catalogue in place: All copies it, and
// a tally looks up each family of each of its snapshots (250 MB of copies in a 1M cold start).
func Lookup(name string) (Def, bool) {
	for _, defs := range catalogue {
		for _, d := range defs {
			if d.Name == name {
				return d, true
			}
		}
	}
	return Def{}, false
}

// Overall names the totals family of a quantile family with dimensions: a median over every
// lead is not a function of the teams' medians, so it is published on its own.
var Overall = map[string]string{FollowupTime: FollowupTimeOverall, SpeedToLead: SpeedToLeadOverall, FunnelVelocity: FunnelVelocityOverall}

// Dimensions are the enabled lead dimension labels, as the configuration resolves them.
type Dimensions struct {
	Sales []string // sales_team, region, and segment and owner when enabled
	Lead  []string // source, then Sales
}

// LabelNames returns the metric's full label names given the enabled dimensions.
func (d Def) LabelNames(dims Dimensions) []string {
	out := append([]string{}, d.Labels...)
	switch d.Dims {
	case SalesDims:
		out = append(out, dims.Sales...)
	case LeadDims:
		out = append(out, dims.Lead...)
	}
	return out
}

// Base is the metric's name without the _total suffix, as used in recording rule names.
func (d Def) Base() string { return strings.TrimSuffix(d.Name, "_total") }
