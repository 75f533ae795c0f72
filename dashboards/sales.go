package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

var (
	byTeam   = re(metrics.DimSalesTeam, "sales_team")
	byRegion = re(metrics.DimRegion, "region")
	teams    = []string{byTeam, byRegion}
	teamsIn  = []string{picked, byTeam, byRegion}
)

func teamVariables(b *dashboard.DashboardBuilder) *dashboard.DashboardBuilder {
	return b.
		WithVariable(labelVariable("sales_team", "Sales team", metrics.LeadsCreated, metrics.DimSalesTeam)).
		WithVariable(labelVariable("region", "Region", metrics.LeadsCreated, metrics.DimRegion))
}

// Sales is the sales dashboard by team and region, for the period picked: follow-up speed and SLA
// compliance, the waiting queue now, pipeline, win rate and revenue.
func Sales(o Options) *dashboard.DashboardBuilder {
	b := base(UIDSales, "Tandem — sales",
		"Sales by team and region for the period picked: follow-up time and SLA compliance, leads waiting now, pipeline by stage, win rate and revenue won.").
		Time("now-30d", "now").
		WithVariable(datasourceVariable(false)).WithVariable(jobVariable(false)).WithVariable(instanceVariable(false)).
		WithVariable(periodVariable())
	return teamVariables(b).
		WithPanel(waitingOverStat().Span(4)).
		WithPanel(oldestWaitStat(o).Span(4)).
		WithPanel(complianceStat().Span(4)).
		WithPanel(acceptedStat().Span(4)).
		WithPanel(salesWinRateStat().Span(4)).
		WithPanel(revenueWonStat(o).Span(4)).
		WithPanel(followupTimeTable(o)).
		WithPanel(complianceTimeseries()).
		WithPanel(pipelineByStageBarGauge(o)).
		WithPanel(wonRevenueTimeseries(o))
}

func waitingOverStat() *stat.PanelBuilder {
	return defaultStat().Title("Waiting past the SLA now").
		Description(help(metrics.FollowupWaiting) + " Here: past the deadline.").
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.FollowupWaiting, append([]string{eq(metrics.LabelSLAStatus, metrics.SLAOver)}, teams...)...), "over SLA")).
		NoValue("0"). // no series: nobody waits
		Thresholds(thresholds("green", 1.0, "red"))
}

func oldestWaitStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Oldest wait").
		Description(help(metrics.FollowupOldestWait) + " Red past the SLA target.").
		Unit("s").Decimals(1). // "1.8 week", as the SLA table reads, not a rounded "2 week"
		WithTarget(instant(fmt.Sprintf("max(%s)", sel(metrics.FollowupOldestWait, teams...)), "oldest")).
		NoValue("nobody waits").
		Thresholds(thresholds("green", o.SLATarget, "red"))
}

func complianceStat() *stat.PanelBuilder {
	return defaultStat().Title("Follow-up within SLA").NoValue("no deadline yet").
		Description("Leads touched by their SLA deadline ÷ leads whose deadline fell in the period picked (within + breached). " + help(metrics.FollowupBreached)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(compliance(teamsIn...), "within SLA")).
		Thresholds(goal(funnel.GoalSLACompliance))
}

func acceptedStat() *stat.PanelBuilder {
	return defaultStat().Title("MQLs accepted").NoValue("no MQL yet").
		Description("Of the period's MQLs, the share sales has accepted (reached SQL) by now: a cohort conversion. " + stageText(funnel.SQL)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(conversion(funnel.MQL, funnel.SQL, teamsIn...), "accepted")).
		Thresholds(goal(funnel.StepGoals[funnel.SQL]))
}

func salesWinRateStat() *stat.PanelBuilder {
	return defaultStat().Title("Win rate").NoValue("no deal closed yet").
		Description("Opportunities won ÷ (won + lost), of those closed in the period picked.").
		Unit("percentunit").Decimals(0).
		WithTarget(instant(winRate(teamsIn...), "win rate")).
		Thresholds(goal(funnel.GoalWinRate))
}

func revenueWonStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Revenue won").
		Description(help(metrics.OpportunitiesWonAmt) + " In the period picked.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumOf(metrics.OpportunitiesWonAmt, teamsIn...), "won"))
}

// followupTimeTable has one row per team and region, with the exact quantiles in columns: with
// several teams in several regions a bar per series and quantile was dozens of bars and a legend
// cut off; a table sorted by the slowest p90 keeps every row reachable.
func followupTimeTable(o Options) *table.PanelBuilder {
	q := func(metric string, p int) string {
		return fmt.Sprintf("max by (%s, %s) (%s)", metrics.DimSalesTeam, metrics.DimRegion, percentileOf(metric, p, teamsIn...))
	}
	cols := []struct{ ref, name, expr string }{
		{"p50", "SLA time p50", q(metrics.FollowupTime, 50)},
		{"p90", "SLA time p90", q(metrics.FollowupTime, 90)},
		{"speed", "speed to lead p50", q(metrics.SpeedToLead, 50)},
	}
	b := defaultTable().Title("Time to first touch by team and region (p50 / p90)").Height(10).Span(12).
		Description(help(metrics.FollowupTime) + " " + help(metrics.SpeedToLead) + " Exact quantiles of the period picked, per team and region (the slowest segment's where segments are labels too); red past the SLA target.").
		Unit("s").Decimals(1).NoValue("no touch yet").
		Thresholds(thresholds("green", o.SLATarget, "red")).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("SLA time p90").Desc(true)})
	rename := map[string]any{}
	for _, c := range cols {
		b = b.WithTarget(tableQuery(c.expr, c.ref))
		rename["Value #"+c.ref] = c.name
		// Each time red or green against the SLA target, whatever the scale (a 1 h line was
		// invisible on bars measured in days); the team and region columns stay plain text.
		b = b.OverrideByName(c.name, []dashboard.DynamicConfigValue{{Id: "custom.cellOptions", Value: map[string]any{"type": string(common.TableCellDisplayModeColorText)}}})
	}
	return b.
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true}, "renameByName": rename,
		}})
}

func complianceTimeseries() *timeseries.PanelBuilder {
	by := metrics.DimSalesTeam + ", " + metrics.DimRegion
	m := []string{in(fiscal.Yesterday), byTeam, byRegion}
	within := trendSumBy(by, metrics.FollowupWithinSLA, m...)
	breached := trendSumBy(by, metrics.FollowupBreached, m...)
	return defaultTimeseries().Title("SLA compliance day by day").Height(10).
		Description("Share of the leads whose deadline fell on the previous complete day that were touched by it, by team and region, as of each point in time.").
		Unit("percentunit").Min(0).Max(1).
		WithTarget(query(ratio(fmt.Sprintf("(%[1]s or %[2]s * 0)", within, breached), fmt.Sprintf("(%[1]s + %[2]s or %[1]s or %[2]s)", within, breached)), "{{sales_team}} {{region}}"))
}

func pipelineByStageBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Open pipeline by stage").Height(10).NoValue("no open deal").
		Description(help(metrics.OpportunitiesOpenAmt) + " Now.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(%s)", sumBy(metrics.LabelOpportunityStage, metrics.OpportunitiesOpenAmt, teams...)), "{{opportunity_stage}}"))
}

func wonRevenueTimeseries(o Options) *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Revenue won week by week, by team").Height(10).
		Description(help(metrics.OpportunitiesWonAmt) + " Each step: the previous complete week, as of that point in time.").
		Unit(o.money()).
		WithTarget(query(trendSumBy(metrics.DimSalesTeam, metrics.OpportunitiesWonAmt, in(fiscal.LastWeek), byTeam, byRegion), "{{sales_team}}"))
}
