package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// Wall is the leadership wall: a TV in kiosk mode at 1920×1080, no scrolling, nothing to pick.
// Top: the one shared target; then marketing and sales side by side at the same size; then the
// funnel with each step's owner; then both teams' weekly trend.
func Wall(o Options) *dashboard.DashboardBuilder {
	return base(UIDWall, "Tandem — leadership wall",
		"One scoreboard for sales and marketing: the shared revenue target, both teams' numbers side by side, the funnel in the common language.").
		Time("now-7d", "now").
		WithVariable(datasourceVariable(true)).
		// The shared target (height 5).
		WithPanel(wonStat(o, fiscal.Quarter)).
		WithPanel(paceStat(fiscal.Quarter)).
		WithPanel(projectionStat(o, fiscal.Quarter)).
		WithPanel(wonStat(o, fiscal.Year)).
		WithPanel(paceStat(fiscal.Year)).
		WithPanel(projectionStat(o, fiscal.Year)).
		// Marketing (left) and sales (right), four numbers each.
		WithPanel(leadsStat()).
		WithPanel(mqlsStat()).
		WithPanel(costPerLeadStat(o)).
		WithPanel(marketingPipelineStat(o)).
		WithPanel(acceptanceRateStat()).
		WithPanel(slaComplianceStat()).
		WithPanel(medianFirstTouchStat(o)).
		WithPanel(winRateStat()).
		// The funnel: stage volumes, then each step's conversion and owner.
		WithPanel(funnelStepStat(funnel.Lead, funnel.MQL)).
		WithPanel(funnelStepStat(funnel.MQL, funnel.SQL)).
		WithPanel(funnelStepStat(funnel.SQL, funnel.Opportunity)).
		WithPanel(funnelStepStat(funnel.Opportunity, funnel.Won)).
		WithPanel(funnelVolumesBarGauge()).
		// Weekly trends.
		WithPanel(marketingWeeklyTimeseries()).
		WithPanel(salesWeeklyTimeseries())
}

func periodWord(k fiscal.Kind) string {
	if k == fiscal.Quarter {
		return "quarter"
	}
	return "year"
}

func periodSel(metric string, k fiscal.Kind) string {
	return sel(metric, eq(metrics.LabelFiscalPeriod, string(k)))
}

func wonStat(o Options, k fiscal.Kind) *stat.PanelBuilder {
	return defaultStat().
		Title(fmt.Sprintf("Won this %s", periodWord(k))).
		Description(help(metrics.RevenueWon) + " Green once at or above the target's linear pace for today.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(periodSel(metrics.RevenueWon, k), "won")).
		WithTarget(instant(fmt.Sprintf("%s * %s", periodSel(metrics.RevenueTarget, k), periodSel(metrics.PeriodElapsed, k)), "expected today")).
		WithTarget(instant(periodSel(metrics.RevenueTarget, k), "target")).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeNone)
}

func paceStat(k fiscal.Kind) *stat.PanelBuilder {
	return defaultStat().
		Title(fmt.Sprintf("Pace this %s", periodWord(k))).
		Description("Revenue won ÷ where a linear path to the target would be today (target × elapsed share of the period). 100% means on track.").
		Unit("percentunit").Decimals(0).
		WithTarget(instant(orNoTarget(ratio(periodSel(metrics.RevenueWon, k),
			fmt.Sprintf("%s * %s", periodSel(metrics.RevenueTarget, k), periodSel(metrics.PeriodElapsed, k))), k), "pace")).
		Mappings(noTargetMapping()).
		Thresholds(thresholds("red", 0.9, "orange", 1.0, "green"))
}

// noTarget is the value a target-dependent panel shows when its period has no target: the
// exporter says so (tandem_data_quality_revenue_target_missing), and the panel reads
// "No target set" in red instead of a silent "No data".
const noTarget = -1

func orNoTarget(expr string, k fiscal.Kind) string {
	return fmt.Sprintf("(%s) or on() (%d * (%s == 1))", expr, noTarget, periodSel(metrics.TargetMissing, k))
}

func noTargetMapping() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			fmt.Sprint(noTarget): {Text: cog.ToPtr("No target set"), Color: cog.ToPtr("red")},
		},
	}}}
}

func projectionStat(o Options, k fiscal.Kind) *stat.PanelBuilder {
	return defaultStat().
		Title(fmt.Sprintf("Projected %s", periodWord(k))).
		Description("At today's pace, revenue by the end of the period: won ÷ elapsed share of the period. Green when it reaches the target.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(ratio(periodSel(metrics.RevenueWon, k), periodSel(metrics.PeriodElapsed, k)), "projection")).
		WithTarget(instant(orNoTarget(periodSel(metrics.RevenueTarget, k), k), "target")).
		Mappings(noTargetMapping()).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeNone)
}

func teamStat() *stat.PanelBuilder { return defaultStat().Height(6).Span(3) }

func leadsStat() *stat.PanelBuilder {
	return teamStat().Title("Marketing · Leads").
		Description(stageText(funnel.Lead) + " Over the dashboard's time range.").
		Unit("short").Decimals(0).
		WithTarget(instant(sumIncrease(metrics.LeadsCreated), "leads"))
}

func mqlsStat() *stat.PanelBuilder {
	return teamStat().Title("Marketing · MQLs").
		Description(stageText(funnel.MQL) + " Over the dashboard's time range.").
		Unit("short").Decimals(0).
		WithTarget(instant(sumIncrease(metrics.FunnelStageEntered, stageIs(funnel.MQL)), "MQLs"))
}

func costPerLeadStat(o Options) *stat.PanelBuilder {
	return teamStat().Title("Marketing · Cost per lead").
		Description("Campaign spend ÷ leads created, both over the dashboard's time range. " + help(metrics.CampaignSpend)).
		Unit(o.money()).Decimals(2).
		WithTarget(instant(ratio(sumIncrease(metrics.CampaignSpend), sumIncrease(metrics.LeadsCreated)), "cost per lead"))
}

func marketingPipelineStat(o Options) *stat.PanelBuilder {
	return teamStat().Title("Marketing · Sourced pipeline").
		Description(help(metrics.SourcedPipeline)).
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("sum(%s)", sel(metrics.SourcedPipeline)), "sourced pipeline"))
}

func acceptanceRateStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · MQL acceptance").
		Description("Leads that became SQL ÷ leads that became MQL in the time range (period-based). " + stageText(funnel.SQL)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(ratio(sumIncrease(metrics.FunnelStageEntered, stageIs(funnel.SQL)), sumIncrease(metrics.FunnelStageEntered, stageIs(funnel.MQL))), "acceptance")).
		Thresholds(thresholds("red", 0.3, "orange", 0.5, "green"))
}

func slaComplianceStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · Follow-up within SLA").
		Description("Leads first touched within the SLA target ÷ all leads first touched, in the time range. " + help(metrics.FollowupWithinSLA)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(ratio(sumIncrease(metrics.FollowupWithinSLA),
			sumIncrease(metrics.FollowupWithinSLA)+" + "+sumIncrease(metrics.FollowupOverSLA)), "within SLA")).
		Thresholds(thresholds("red", 0.8, "orange", 0.9, "green"))
}

func medianFirstTouchStat(o Options) *stat.PanelBuilder {
	return teamStat().Title("Sales · Median time to first touch").
		Description("Median SLA time from clock start to first qualifying touch, in the time range. " + help(metrics.FollowupLatency)).
		Unit("s").Decimals(0).
		WithTarget(instant(fmt.Sprintf("histogram_quantile(0.5, sum by (le) (increase(%s[$__range])))", sel(metrics.FollowupLatency+"_bucket")), "median")).
		Thresholds(thresholds("green", o.SLATarget/2, "orange", o.SLATarget, "red"))
}

func winRateStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · Win rate").
		Description("Opportunities won ÷ (won + lost), closed in the time range.").
		Unit("percentunit").Decimals(0).
		WithTarget(instant(ratio(sumIncrease(metrics.OpportunitiesWon),
			sumIncrease(metrics.OpportunitiesWon)+" + "+sumIncrease(metrics.OpportunitiesLost)), "win rate"))
}

func funnelStepStat(from, to funnel.Stage) *stat.PanelBuilder {
	owner, _ := funnel.Lookup(to)
	return defaultStat().Height(5).Span(3).
		Title(fmt.Sprintf("%s → %s · %s", stageTitle(from), stageTitle(to), owner.Owner)).
		Description(fmt.Sprintf("Step conversion, period-based: leads that entered %s ÷ leads that entered %s in the time range. %s",
			stageTitle(to), stageTitle(from), stageText(to))).
		Unit("percentunit").Decimals(1).
		WithTarget(instant(ratio(sumIncrease(metrics.FunnelStageEntered, stageIs(to)), sumIncrease(metrics.FunnelStageEntered, stageIs(from))), "conversion"))
}

func funnelVolumesBarGauge() *bargauge.PanelBuilder {
	b := defaultBarGauge().Height(5).Span(12).
		Title("Funnel").
		Description("Leads entering each stage of the common language in the time range. " + stagesLegend()).
		Unit("short").Decimals(0)
	for _, s := range funnel.Path {
		d, _ := funnel.Lookup(s)
		b = b.WithTarget(instant(sumIncrease(metrics.FunnelStageEntered, stageIs(s)), fmt.Sprintf("%s · %s", d.Title, d.Owner)))
	}
	return b
}

func stagesLegend() string {
	out := ""
	for _, s := range funnel.Path {
		d, _ := funnel.Lookup(s)
		out += fmt.Sprintf("%s (%s): %s ", d.Title, d.Owner, d.Definition)
	}
	return out
}

func weekly(metric string, matchers ...string) string {
	return fmt.Sprintf("sum(increase(%s[1w]))", sel(metric, matchers...))
}

func marketingWeeklyTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Height(8).Span(12).
		Title("Marketing · week by week").
		Description("Leads and MQLs in the 7 days up to each point.").
		Unit("short").Decimals(0).
		Interval("1h").
		WithTarget(query(weekly(metrics.LeadsCreated), "leads / week")).
		WithTarget(query(weekly(metrics.FunnelStageEntered, stageIs(funnel.MQL)), "MQLs / week"))
}

func salesWeeklyTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Height(8).Span(12).
		Title("Sales · week by week").
		Description("SQLs and opportunities won in the 7 days up to each point.").
		Unit("short").Decimals(0).
		Interval("1h").
		WithTarget(query(weekly(metrics.FunnelStageEntered, stageIs(funnel.SQL)), "SQLs / week")).
		WithTarget(query(weekly(metrics.OpportunitiesWon), "deals won / week"))
}
