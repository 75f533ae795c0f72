package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/metrics"
)

var (
	byTeam   = re(metrics.DimSalesTeam, "sales_team")
	byRegion = re(metrics.DimRegion, "region")
)

func teamVariables(b *dashboard.DashboardBuilder) *dashboard.DashboardBuilder {
	return b.
		WithVariable(labelVariable("sales_team", "Sales team", metrics.LeadsCreated, metrics.DimSalesTeam)).
		WithVariable(labelVariable("region", "Region", metrics.LeadsCreated, metrics.DimRegion))
}

// Sales is the sales dashboard by team and region: follow-up speed and SLA compliance, the
// waiting queue, pipeline, win rate and revenue.
func Sales(o Options) *dashboard.DashboardBuilder {
	b := base(UIDSales, "Tandem — sales",
		"Sales by team and region: follow-up latency and SLA compliance, leads waiting now, pipeline by stage, win rate and revenue won.").
		Time("now-30d", "now").
		WithVariable(datasourceVariable(false))
	return teamVariables(b).
		WithPanel(waitingOverStat().Span(4)).
		WithPanel(oldestWaitStat(o).Span(4)).
		WithPanel(complianceStat().Span(4)).
		WithPanel(speedToLeadStat(o).Span(4)).
		WithPanel(salesWinRateStat().Span(4)).
		WithPanel(revenueWonStat(o).Span(4)).
		WithPanel(latencyQuantilesTimeseries(o)).
		WithPanel(complianceTimeseries()).
		WithPanel(pipelineByStageBarGauge(o)).
		WithPanel(wonRevenueTimeseries(o))
}

func waitingOverStat() *stat.PanelBuilder {
	return defaultStat().Title("Waiting past the SLA now").
		Description(help(metrics.FollowupWaiting) + " Here: over the target.").
		Unit("short").Decimals(0).
		WithTarget(instant(orZero(fmt.Sprintf("sum(%s)", sel(metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAOver), byTeam, byRegion))), "over SLA")).
		Thresholds(thresholds("green", 1.0, "red"))
}

func oldestWaitStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Oldest wait").
		Description(help(metrics.FollowupOldestWait) + " Red past the SLA target.").
		Unit("s").Decimals(0).
		WithTarget(instant(orZero(fmt.Sprintf("max(%s)", sel(metrics.FollowupOldestWait, byTeam, byRegion))), "oldest")).
		Thresholds(thresholds("green", o.SLATarget, "red"))
}

func complianceExpr(window string) string {
	within := fmt.Sprintf("sum(increase(%s[%s]))", sel(metrics.FollowupWithinSLA, byTeam, byRegion), window)
	over := fmt.Sprintf("sum(increase(%s[%s]))", sel(metrics.FollowupOverSLA, byTeam, byRegion), window)
	return ratio(within, within+" + "+over)
}

func complianceStat() *stat.PanelBuilder {
	return defaultStat().Title("Follow-up within SLA").
		Description("Leads first touched within the SLA target ÷ all first-touched leads, in the time range. " + help(metrics.FollowupWithinSLA)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(complianceExpr("$__range"), "within SLA")).
		Thresholds(thresholds("red", 0.8, "orange", 0.9, "green"))
}

func quantile(q float64, metric, window, by string) string {
	group := "le"
	if by != "" {
		group = by + ", le"
	}
	return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (increase(%s[%s])))", q, group, sel(metric+"_bucket", byTeam, byRegion), window)
}

func speedToLeadStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Median speed to lead").
		Description(help(metrics.SpeedToLead) + " Median over the time range.").
		Unit("s").Decimals(0).
		WithTarget(instant(quantile(0.5, metrics.SpeedToLead, "$__range", ""), "median")).
		Thresholds(thresholds("green", o.SLATarget, "red"))
}

func salesWinRateStat() *stat.PanelBuilder {
	won := sumIncrease(metrics.OpportunitiesWon, byTeam, byRegion)
	lost := sumIncrease(metrics.OpportunitiesLost, byTeam, byRegion)
	return defaultStat().Title("Win rate").
		Description("Opportunities won ÷ (won + lost), closed in the time range.").
		Unit("percentunit").Decimals(0).
		WithTarget(instant(ratio(won, won+" + "+lost), "win rate"))
}

func revenueWonStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Revenue won").
		Description(help(metrics.OpportunitiesWonAmt) + " In the time range.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumIncrease(metrics.OpportunitiesWonAmt, byTeam, byRegion), "won"))
}

func latencyQuantilesTimeseries(o Options) *timeseries.PanelBuilder {
	by := metrics.DimSalesTeam + ", " + metrics.DimRegion
	return defaultTimeseries().Title("Follow-up latency p50 / p90 by team and region").
		Description(help(metrics.FollowupLatency) + " Quantiles over the 24 hours up to each point; the dashed line is the SLA target.").
		Unit("s").Interval("1h").
		WithTarget(query(quantile(0.5, metrics.FollowupLatency, "1d", by), "p50 {{sales_team}} {{region}}")).
		WithTarget(query(quantile(0.9, metrics.FollowupLatency, "1d", by), "p90 {{sales_team}} {{region}}")).
		WithTarget(query(fmt.Sprintf("max(%s)", sel(metrics.SLATarget)), "SLA target"))
}

func complianceTimeseries() *timeseries.PanelBuilder {
	by := metrics.DimSalesTeam + ", " + metrics.DimRegion
	within := fmt.Sprintf("sum by (%s) (increase(%s[1d]))", by, sel(metrics.FollowupWithinSLA, byTeam, byRegion))
	over := fmt.Sprintf("sum by (%s) (increase(%s[1d]))", by, sel(metrics.FollowupOverSLA, byTeam, byRegion))
	return defaultTimeseries().Title("SLA compliance over time").
		Description("Share of leads first touched within the SLA target, in the 24 hours up to each point, by team and region.").
		Unit("percentunit").Min(0).Max(1).Interval("1h").
		WithTarget(query(ratio(within, within+" + "+over), "{{sales_team}} {{region}}"))
}

func pipelineByStageBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Open pipeline by stage").
		Description(help(metrics.OpportunitiesOpenAmt) + " Now.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(sum by (%s) (%s))", metrics.LabelOpportunityStage, sel(metrics.OpportunitiesOpenAmt, byTeam, byRegion)), "{{opportunity_stage}}"))
}

func wonRevenueTimeseries(o Options) *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Revenue won per week by team").
		Description(help(metrics.OpportunitiesWonAmt) + " In the 7 days up to each point.").
		Unit(o.money()).Interval("1h").
		WithTarget(query(fmt.Sprintf("sum by (%s) (increase(%s[1w]))", metrics.DimSalesTeam, sel(metrics.OpportunitiesWonAmt, byTeam, byRegion)), "{{sales_team}}"))
}
