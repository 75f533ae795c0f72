// Package metrics is the catalogue of every metric Tandem publishes: name, type, labels and
// meaning. The collectors build their descriptors from it, docs/metrics.md is generated from it,
// and the dashboards and alert rules take metric names from these constants, so a number is named
// and defined once.
package metrics

import "strings"

// Namespace prefixes every metric.
const Namespace = "tandem"

// Type is a Prometheus metric type.
type Type string

const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Label names shared by several metrics.
const (
	LabelFunnelStage        = "funnel_stage"
	LabelDisqualifiedReason = "disqualified_reason"
	LabelKind               = "kind"
	LabelSLAStatus          = "sla_status"
	LabelOpportunityStage   = "opportunity_stage"
	LabelFiscalPeriod       = "fiscal_period"
	LabelName               = "name"
	LabelChannel            = "channel"
	LabelDatabase           = "database"
	LabelQuery              = "query"
	LabelCheck              = "check"
	LabelMetric             = "metric"
	LabelCurrency           = "currency"
	LabelCampaign           = "campaign"
	LabelModel              = "model"
)

// Lead dimension labels: which of them a lead metric carries is configured (labels.*.enabled).
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
)

// Def describes one metric.
type Def struct {
	Name   string
	Type   Type
	Labels []string // fixed labels, before the lead dimensions
	Dims   bool     // carries the configured lead dimension labels
	Unit   string   // for documentation: seconds, currency, ratio, leads, ...
	Help   string
}

// Metric names. Counters end in _total; amounts are in the reporting currency's unit.
const (
	LeadsCreated            = "tandem_leads_created_total"
	FunnelStageEntered      = "tandem_funnel_stage_entered_total"
	LeadsDisqualified       = "tandem_leads_disqualified_total"
	Leads                   = "tandem_leads"
	OpportunitiesCreated    = "tandem_opportunities_created_total"
	OpportunitiesCreatedAmt = "tandem_opportunities_created_amount_total"
	OpportunitiesWon        = "tandem_opportunities_won_total"
	OpportunitiesWonAmt     = "tandem_opportunities_won_amount_total"
	OpportunitiesLost       = "tandem_opportunities_lost_total"
	OpportunitiesLostAmt    = "tandem_opportunities_lost_amount_total"
	OpportunitiesOpen       = "tandem_opportunities_open"
	OpportunitiesOpenAmt    = "tandem_opportunities_open_amount"
	SalesTouches            = "tandem_sales_touches_total"
	FollowupLatency         = "tandem_followup_latency_seconds"
	SpeedToLead             = "tandem_speed_to_lead_seconds"
	AttemptsMet             = "tandem_followup_attempts_met_total"
	AttemptsMissed          = "tandem_followup_attempts_missed_total"
	PollInterval            = "tandem_poll_interval_seconds"
	FollowupWithinSLA       = "tandem_followup_within_sla_total"
	FollowupOverSLA         = "tandem_followup_over_sla_total"
	FollowupWaiting         = "tandem_followup_waiting_leads"
	FollowupOldestWait      = "tandem_followup_oldest_wait_seconds"
	FollowupAbandoned       = "tandem_followup_abandoned_leads"
	SLATarget               = "tandem_sla_target_seconds"
	RevenueWon              = "tandem_revenue_won"
	RevenueTarget           = "tandem_revenue_target"
	PipelineOpen            = "tandem_pipeline_open_amount"
	PeriodElapsed           = "tandem_fiscal_period_elapsed_ratio"
	PeriodStart             = "tandem_fiscal_period_start_timestamp_seconds"
	PeriodEnd               = "tandem_fiscal_period_end_timestamp_seconds"
	PeriodInfo              = "tandem_fiscal_period_info"
	ReportingCurrency       = "tandem_reporting_currency_info"
	CampaignSpend           = "tandem_campaign_spend_total"
	CampaignLeads           = "tandem_campaign_leads_total"
	CampaignDisqualified    = "tandem_campaign_leads_disqualified_total"
	AttributedRevenue       = "tandem_attributed_revenue_total"
	SourcedRevenue          = "tandem_marketing_sourced_revenue_total"
	InfluencedRevenue       = "tandem_marketing_influenced_revenue_total"
	SourcedPipeline         = "tandem_marketing_sourced_pipeline_amount"
	InfluencedPipeline      = "tandem_marketing_influenced_pipeline_amount"
	CampaignImpressions     = "tandem_campaign_impressions_total"
	CampaignClicks          = "tandem_campaign_clicks_total"
	MarketingTouchpoints    = "tandem_marketing_touchpoints_total"
	Up                      = "tandem_up"
	LastSuccessfulPoll      = "tandem_last_successful_poll_timestamp_seconds"
	PollDuration            = "tandem_poll_duration_seconds"
	Polls                   = "tandem_polls_total"
	PollFailures            = "tandem_poll_failures_total"
	QueryErrors             = "tandem_query_errors_total"
	QueryRows               = "tandem_query_rows_read_total"
	QueryDuration           = "tandem_query_duration_seconds"
	FullReads               = "tandem_full_reads_total"
	TallyRebuilds           = "tandem_tally_rebuilds_total"
	ReconciliationDrift     = "tandem_reconciliation_drift_rows_total"
	DataQualityRows         = "tandem_data_quality_problem_rows"
	DataQualityRegressions  = "tandem_data_quality_counter_regressions_total"
	TargetMissing           = "tandem_data_quality_revenue_target_missing"
)

// Funnel and revenue metrics from the CRM database.
var CRM = []Def{
	{LeadsCreated, Counter, nil, true, "leads", "Leads created in the CRM (stage lead). Rebuilt from the database at start-up; polled on a schedule, never queried at scrape time."},
	{FunnelStageEntered, Counter, []string{LabelFunnelStage}, true, "leads", "Leads that entered each canonical funnel stage (the stage's timestamp is set). A lead counts once per stage."},
	{LeadsDisqualified, Counter, []string{LabelDisqualifiedReason}, true, "leads", "Leads disqualified (rejected) by sales, by reason."},
	{Leads, Gauge, []string{LabelFunnelStage}, true, "leads", "Leads currently in each canonical stage: the CRM status mapped by funnel.status_map, overridden by the lead's opportunities (any won: won; else any open: opportunity; else lost)."},
	{OpportunitiesCreated, Counter, nil, true, "opportunities", "Opportunities created."},
	{OpportunitiesCreatedAmt, Counter, nil, true, "currency", "Amount of opportunities created, in the reporting currency."},
	{OpportunitiesWon, Counter, nil, true, "opportunities", "Opportunities closed won."},
	{OpportunitiesWonAmt, Counter, nil, true, "currency", "Revenue of opportunities closed won, in the reporting currency."},
	{OpportunitiesLost, Counter, nil, true, "opportunities", "Opportunities closed lost."},
	{OpportunitiesLostAmt, Counter, nil, true, "currency", "Amount of opportunities closed lost, in the reporting currency."},
	{OpportunitiesOpen, Gauge, []string{LabelOpportunityStage}, true, "opportunities", "Open opportunities by the CRM's pipeline stage."},
	{OpportunitiesOpenAmt, Gauge, []string{LabelOpportunityStage}, true, "currency", "Amount of open opportunities by pipeline stage, in the reporting currency."},
	{SalesTouches, Counter, []string{LabelKind}, true, "activities", "Sales activities (calls, e-mails, meetings) on known leads, by kind."},
	{FollowupLatency, Histogram, nil, true, "seconds", "SLA time: SLA clock start to the first qualifying sales touch at or after it, in business hours of the owner's region when sla.business_hours is set; one observation per followed-up lead."},
	{SpeedToLead, Histogram, nil, true, "seconds", "Speed to lead: lead created to its first qualifying sales touch, in calendar time (routing delays included); one observation per touched lead."},
	{FollowupWithinSLA, Counter, nil, true, "leads", "Leads whose first qualifying touch came within the SLA target (SLA time)."},
	{FollowupOverSLA, Counter, nil, true, "leads", "Leads whose first qualifying touch came after the SLA target (SLA time)."},
	{AttemptsMet, Counter, nil, true, "leads", "Leads that got at least sla.attempts.count qualifying touches within sla.attempts.within of the clock start (only with sla.attempts)."},
	{AttemptsMissed, Counter, nil, true, "leads", "Leads whose sla.attempts.within window closed with fewer touches than sla.attempts.count (only with sla.attempts)."},
	{FollowupWaiting, Gauge, []string{LabelSLAStatus}, true, "leads", "Leads waiting for a first qualifying touch now (clock started, not terminal), within or over the SLA target in SLA time."},
	{FollowupOldestWait, Gauge, nil, true, "seconds", "SLA time waited so far by the oldest lead still waiting for a first qualifying touch."},
	{FollowupAbandoned, Gauge, nil, true, "leads", "Untouched leads whose clock started longer ago than sla.waiting_max_age: no longer counted as waiting."},
	{SLATarget, Gauge, nil, false, "seconds", "The configured follow-up SLA target."},
	{RevenueWon, Gauge, []string{LabelFiscalPeriod}, false, "currency", "Revenue won in the current fiscal period to date (opportunities closed won in the period), in the reporting currency."},
	{RevenueTarget, Gauge, []string{LabelFiscalPeriod}, false, "currency", "The shared revenue target of the current fiscal period, in the reporting currency."},
	{PipelineOpen, Gauge, []string{LabelFiscalPeriod}, false, "currency", "Open pipeline expected to close in the current fiscal period (expected close date within it), in the reporting currency."},
	{PeriodElapsed, Gauge, []string{LabelFiscalPeriod}, false, "ratio", "Share of the current fiscal period elapsed at the last poll (0-1): pace = won / (target × elapsed)."},
	{PeriodStart, Gauge, []string{LabelFiscalPeriod}, false, "seconds", "Start of the current fiscal period, Unix time."},
	{PeriodEnd, Gauge, []string{LabelFiscalPeriod}, false, "seconds", "End (exclusive) of the current fiscal period, Unix time."},
	{PeriodInfo, Gauge, []string{LabelFiscalPeriod, LabelName}, false, "info", "The current fiscal period's name (FY2026, FY2026-Q4); always 1."},
	{ReportingCurrency, Gauge, []string{LabelCurrency}, false, "info", "The reporting currency every amount is converted to; always 1."},
	{TargetMissing, Gauge, []string{LabelFiscalPeriod, LabelName}, false, "bool", "1 when the current fiscal period (name: FY2027-Q1) has no revenue target in targets.revenue (nor, for a quarter, its year's), else 0: pace and projection cannot be computed until one is set."},
	{CampaignLeads, Counter, []string{LabelChannel, LabelCampaign, DimSource, LabelFunnelStage}, false, "leads", "Leads by the campaign that produced them (the campaign of the lead-creation touch: the last marketing touch at or before the lead was created; \"unknown\" without one) and the funnel stages they entered (lead, mql, sql, opportunity, won). Accepted by sales = funnel_stage=\"sql\"."},
	{CampaignDisqualified, Counter, []string{LabelChannel, LabelCampaign, DimSource, LabelDisqualifiedReason}, false, "leads", "Leads rejected by sales (disqualified), by the campaign that produced them and the reason: the lead-quality feedback for marketing."},
	{AttributedRevenue, Counter, []string{LabelModel, LabelChannel, LabelCampaign}, false, "currency", "Won revenue attributed to the campaigns of the lead's touches before the win, under each attribution model (docs/metrics.md gives the rules). Revenue no touch explains is channel=campaign=\"unattributed\"; per model, the sum over all series is the won revenue."},
	{SourcedRevenue, Counter, nil, false, "currency", "Won revenue that marketing sourced: the lead's source is a marketing channel (not in funnel.sales_sources) or its first touch before the opportunity was created is a campaign touch. Never add to influenced revenue."},
	{InfluencedRevenue, Counter, nil, false, "currency", "Won revenue that marketing influenced: the lead had at least one campaign touch at or before the opportunity was created. Never add to sourced revenue."},
	{SourcedPipeline, Gauge, nil, false, "currency", "Open pipeline that marketing sourced (as for tandem_marketing_sourced_revenue_total), now."},
	{InfluencedPipeline, Gauge, nil, false, "currency", "Open pipeline that marketing influenced (as for tandem_marketing_influenced_revenue_total), now."},
}

// Campaign metrics from the campaign database.
var Campaign = []Def{
	{CampaignSpend, Counter, []string{LabelChannel, LabelCampaign}, false, "currency", "Campaign spend (sum of daily spend), in the reporting currency. campaign is the campaign's name for the top labels.campaign.max_values campaigns by spend, else \"other\"."},
	{CampaignImpressions, Counter, []string{LabelChannel, LabelCampaign}, false, "impressions", "Campaign ad impressions."},
	{CampaignClicks, Counter, []string{LabelChannel, LabelCampaign}, false, "clicks", "Campaign clicks."},
	{MarketingTouchpoints, Counter, []string{LabelChannel, LabelKind}, false, "touchpoints", "Marketing touchpoints of leads with campaigns, by the campaign's channel and the touch kind."},
}

// Health metrics: the exporter reporting on itself.
var Health = []Def{
	{Up, Gauge, []string{LabelDatabase}, false, "bool", "1 if the last poll of the database succeeded, else 0."},
	{LastSuccessfulPoll, Gauge, []string{LabelDatabase}, false, "seconds", "Unix time of the last successful poll; data age = time() - this."},
	{PollDuration, Gauge, []string{LabelDatabase}, false, "seconds", "Duration of the last poll."},
	{PollInterval, Gauge, []string{LabelDatabase}, false, "seconds", "The configured poll interval: data is stale when time() - last successful poll exceeds a few of these."},
	{Polls, Counter, []string{LabelDatabase}, false, "polls", "Polls started."},
	{PollFailures, Counter, []string{LabelDatabase}, false, "polls", "Polls that failed; the previous values stay published."},
	{QueryErrors, Counter, []string{LabelDatabase, LabelQuery}, false, "errors", "Queries that failed."},
	{QueryRows, Counter, []string{LabelDatabase, LabelQuery}, false, "rows", "Rows read by each query."},
	{QueryDuration, Gauge, []string{LabelDatabase, LabelQuery}, false, "seconds", "Duration of each query in the last poll."},
	{FullReads, Counter, []string{LabelDatabase}, false, "polls", "Polls that read every row (start-up and every reconcile_interval); the others read only rows changed since the last poll."},
	{TallyRebuilds, Counter, []string{LabelDatabase}, false, "polls", "Polls that recomputed the numbers from every row held (start-up; after a change every lead depends on: an owner, a campaign, a new fiscal period); the others recompute only the leads (or campaign rows) that changed and those waiting on the clock."},
	{ReconciliationDrift, Counter, []string{LabelDatabase, LabelQuery, LabelKind}, false, "rows", "Rows a full read found that incremental reads had missed: kind=\"deleted\" (hard-deleted) or \"changed\" (changed without a newer updated_at)."},
	{DataQualityRows, Gauge, []string{LabelDatabase, LabelQuery, LabelCheck}, false, "rows", "Rows in the last successful poll that failed a data-quality check; see docs/metrics.md for what each check skips."},
	{DataQualityRegressions, Counter, []string{LabelMetric}, false, "series", "Times a counter's value computed from the database fell (hard-deleted rows, stages moved back, relabelled leads); the published counter keeps its value instead of decreasing."},
}

// All lists every metric in the catalogue.
func All() []Def {
	out := append([]Def{}, CRM...)
	out = append(out, Campaign...)
	return append(out, Health...)
}

// Lookup returns a metric's definition.
func Lookup(name string) (Def, bool) {
	for _, d := range All() {
		if d.Name == name {
			return d, true
		}
	}
	return Def{}, false
}

// LabelNames returns the metric's full label names given the enabled dimensions.
func (d Def) LabelNames(dims []string) []string {
	out := append([]string{}, d.Labels...)
	if d.Dims {
		out = append(out, dims...)
	}
	return out
}

// Base is the metric's name without the _total suffix, as used in recording rule names.
func (d Def) Base() string { return strings.TrimSuffix(d.Name, "_total") }

// LatencyBuckets are the follow-up latency histogram's upper bounds, in seconds: the research
// thresholds (5 and 30 minutes, 1 hour, 24 hours) plus steps between.
var LatencyBuckets = []float64{60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800}
