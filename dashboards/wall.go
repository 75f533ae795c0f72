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
// Top: the one shared target, this fiscal quarter and year; then marketing and sales side by side
// at the same size; then the funnel of this quarter's leads with each step's owner; then both
// teams' week-by-week trend. Every number is an event-time number of the period its title names.
func Wall(o Options) *dashboard.DashboardBuilder {
	return base(UIDWall, "Tandem — leadership wall",
		"One scoreboard for sales and marketing: the shared revenue target, both teams' numbers side by side, the funnel in the common language.").
		Time("now-90d", "now").
		WithVariable(datasourceVariable(true)).WithVariable(jobVariable(true)).WithVariable(instanceVariable(true)).
		// The shared target (height 5).
		WithPanel(wonStat(o, fiscal.ThisQuarter)).
		WithPanel(paceStat(fiscal.ThisQuarter)).
		WithPanel(projectionStat(o, fiscal.ThisQuarter)).
		WithPanel(wonStat(o, fiscal.ThisYear)).
		WithPanel(paceStat(fiscal.ThisYear)).
		WithPanel(projectionStat(o, fiscal.ThisYear)).
		// Marketing (left) and sales (right), four numbers each.
		WithPanel(leadsStat()).
		WithPanel(mqlsStat()).
		WithPanel(costPerLeadStat(o)).
		WithPanel(sourcedShareStat()).
		WithPanel(slaComplianceStat()).
		WithPanel(medianFirstTouchStat(o)).
		WithPanel(winRateStat()).
		WithPanel(coverageStat()).
		// The funnel: each step's cohort conversion and owner, then the quarter's leads by stage.
		WithPanel(funnelStepStat(funnel.Lead, funnel.MQL)).
		WithPanel(funnelStepStat(funnel.MQL, funnel.SQL)).
		WithPanel(funnelStepStat(funnel.SQL, funnel.Opportunity)).
		WithPanel(funnelStepStat(funnel.Opportunity, funnel.Won)).
		WithPanel(funnelVolumesBarGauge()).
		// Week-by-week trends.
		WithPanel(marketingWeeklyTimeseries()).
		WithPanel(salesWeeklyTimeseries())
}

func periodWord(w fiscal.Window) string {
	if w.Kind() == fiscal.Quarter {
		return "quarter"
	}
	return "year"
}

func wonStat(o Options, w fiscal.Window) *stat.PanelBuilder {
	return defaultStat().Height(6).
		Title(fmt.Sprintf("Won this %s", periodWord(w))).
		Description(help(metrics.RevenueWon) + " Expected today: the target × the elapsed share of the period (linear pace); the pace panel beside it is green when won reaches it.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sel(metrics.RevenueWon, in(w)), "won")).
		WithTarget(instant(fmt.Sprintf("%s * %s", sel(metrics.RevenueTarget, in(w)), sel(metrics.PeriodElapsed, in(w))), "expected today")).
		WithTarget(instant(orNoTarget(sel(metrics.RevenueTarget, in(w)), w), "target")).
		Mappings(noTargetMapping()).
		Orientation(common.VizOrientationHorizontal).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeNone)
}

func paceStat(w fiscal.Window) *stat.PanelBuilder {
	return defaultStat().Height(6).
		Title(fmt.Sprintf("Pace this %s", periodWord(w))).
		NoValue("period just started").
		Description("Revenue won ÷ where a linear path to the target would be today (target × elapsed share of the period). 100% means on track. " + goalText(funnel.GoalPace)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(orNoTarget(ratio(sel(metrics.RevenueWon, in(w)),
			fmt.Sprintf("%s * %s", sel(metrics.RevenueTarget, in(w)), sel(metrics.PeriodElapsed, in(w)))), w), "pace")).
		Mappings(noTargetMapping()).
		Thresholds(goal(funnel.GoalPace))
}

// noTarget is the value a target-dependent panel shows when its period has no target: the
// exporter says so (tandem_data_quality_revenue_target_missing), and the panel reads
// "No target set" in red instead of a silent "No data".
const noTarget = -1

func orNoTarget(expr string, w fiscal.Window) string {
	return fmt.Sprintf("(%s) or on() (%d * (%s == 1))", expr, noTarget, sel(metrics.TargetMissing, in(w)))
}

func noTargetMapping() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			fmt.Sprint(noTarget): {Text: cog.ToPtr("No target set"), Color: cog.ToPtr("red")},
		},
	}}}
}

// projection is what the period should end at: revenue won so far plus the open pipeline expected
// to close in the period, each deal weighted by its stage's win probability. Unlike won ÷ elapsed,
// it means something on the first day of a quarter.
func projection(w fiscal.Window) string {
	return fmt.Sprintf("%s + %s", sumOf(metrics.RevenueWon, in(w)), sumOf(metrics.PipelineWeighted, in(w)))
}

func projectionStat(o Options, w fiscal.Window) *stat.PanelBuilder {
	return defaultStat().Height(6).
		Title(fmt.Sprintf("Projected %s: won + weighted pipeline", periodWord(w))).
		Description("Revenue won so far plus the open pipeline expected to close this " + periodWord(w) + ", each deal weighted by its stage's win probability. " + help(metrics.PipelineWeighted)).
		Unit(o.money()).Decimals(0).
		WithTarget(instant(projection(w), "projected")).
		WithTarget(instant(orNoTarget(sel(metrics.RevenueTarget, in(w)), w), "target")).
		Mappings(noTargetMapping()).
		Orientation(common.VizOrientationHorizontal).
		TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeNone)
}

func teamStat() *stat.PanelBuilder { return defaultStat().Height(7).Span(3) }

func leadsStat() *stat.PanelBuilder {
	return neutral(teamStat()).Title("Marketing · Leads this week").
		Description(stageText(funnel.Lead) + " " + help(metrics.LeadsCreated)).
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.LeadsCreated, in(fiscal.ThisWeek)), "leads"))
}

func mqlsStat() *stat.PanelBuilder {
	return neutral(teamStat()).Title("Marketing · MQLs this week").
		Description(stageText(funnel.MQL) + " Leads that became MQL this week (by mql_at).").
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.FunnelStageEntered, in(fiscal.ThisWeek), stageIs(funnel.MQL)), "MQLs"))
}

func costPerLeadStat(o Options) *stat.PanelBuilder {
	return neutral(teamStat()).Title("Marketing · Cost per lead, quarter").
		NoValue("no leads yet").
		Description("Campaign spend of this fiscal quarter's days ÷ the leads created this quarter (by the campaign that produced them, \"unknown\" included). " + help(metrics.CampaignSpend)).
		Unit(o.money()).Decimals(2).
		WithTarget(instant(costPer(funnel.Lead, in(fiscal.ThisQuarter)), "cost per lead"))
}

// sourcedShare is the share of a period's won revenue that marketing sourced.
func sourcedShare(w fiscal.Window) string {
	return ratio(sumOf(metrics.SourcedRevenue, in(w)), sumOf(metrics.RevenueWon, in(w)))
}

func sourcedShareStat() *stat.PanelBuilder {
	return teamStat().Title("Marketing · Sourced revenue share, quarter").
		NoValue("nothing won yet").
		Description("Marketing-sourced revenue won this fiscal quarter ÷ all revenue won this quarter. " + help(metrics.SourcedRevenue) + " " + goalText(funnel.GoalSourcedShare)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(sourcedShare(fiscal.ThisQuarter), "sourced share")).
		Thresholds(goal(funnel.GoalSourcedShare))
}

// coverage is pipeline coverage: the open pipeline expected to close in the period ÷ the target
// still to win (none once the target is reached).
func coverage(w fiscal.Window) string {
	remaining := fmt.Sprintf("(%s - %s)", sumOf(metrics.RevenueTarget, in(w)), sumOf(metrics.RevenueWon, in(w)))
	return ratio(sumOf(metrics.PipelineOpen, in(w)), remaining)
}

func coverageStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · Pipeline coverage, quarter").
		NoValue("target reached or none set").
		Description("Open pipeline expected to close this fiscal quarter ÷ the quarter's target still to win (target − won). " + goalText(funnel.GoalCoverage)).
		Unit("x").Decimals(1).
		WithTarget(instant(coverage(fiscal.ThisQuarter), "coverage")).
		Thresholds(goal(funnel.GoalCoverage))
}

// compliance is SLA compliance in a period: leads touched by their deadline ÷ those whose
// deadline fell in it (within + breached).
func compliance(matchers ...string) string {
	within, breached := sumOf(metrics.FollowupWithinSLA, matchers...), sumOf(metrics.FollowupBreached, matchers...)
	due := fmt.Sprintf("(%[1]s + %[2]s or %[1]s or %[2]s)", within, breached)
	return ratio(fmt.Sprintf("(%s or %s * 0)", within, due), due) // all breached: 0, not empty
}

func slaComplianceStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · Follow-up within SLA, week").
		NoValue("no deadline yet").
		Description("Leads touched by their SLA deadline ÷ leads whose deadline fell this week. " + help(metrics.FollowupBreached)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(compliance(in(fiscal.ThisWeek)), "within SLA")).
		Thresholds(goal(funnel.GoalSLACompliance))
}

func medianFirstTouchStat(o Options) *stat.PanelBuilder {
	return teamStat().Title("Sales · Median first touch, week").
		NoValue("no touch yet").
		Description(help(metrics.FollowupTime) + " This week, over every team.").
		Unit("s").Decimals(0).
		WithTarget(instant(percentileOf(metrics.FollowupTimeOverall, 50, in(fiscal.ThisWeek)), "median")).
		Thresholds(thresholds("green", o.SLATarget/2, "orange", o.SLATarget, "red"))
}

// winRate is won ÷ (won + lost) of the deals closed in a period.
func winRate(matchers ...string) string {
	won, lost := sumOf(metrics.OpportunitiesWon, matchers...), sumOf(metrics.OpportunitiesLost, matchers...)
	closed := fmt.Sprintf("(%[1]s + %[2]s or %[1]s or %[2]s)", won, lost)
	return ratio(fmt.Sprintf("(%s or %s * 0)", won, closed), closed) // all lost: 0, not empty
}

func winRateStat() *stat.PanelBuilder {
	return teamStat().Title("Sales · Win rate, quarter").
		NoValue("no deal closed yet").
		Description("Opportunities won ÷ (won + lost), of those closed this fiscal quarter. " + goalText(funnel.GoalWinRate)).
		Unit("percentunit").Decimals(0).
		WithTarget(instant(winRate(in(fiscal.ThisQuarter)), "win rate")).
		Thresholds(goal(funnel.GoalWinRate))
}

func funnelStepStat(from, to funnel.Stage) *stat.PanelBuilder {
	owner, _ := funnel.Lookup(to)
	g := funnel.StepGoals[to]
	return defaultStat().Height(6).Span(3).
		Title(fmt.Sprintf("%s → %s · %s", stageTitle(from), stageTitle(to), owner.Owner)).
		NoValue("no lead yet").
		Description(fmt.Sprintf("Cohort conversion this quarter: of the leads that reached %s this fiscal quarter, the share that has reached %s by now. %s",
			stageTitle(from), stageTitle(to), stageText(to)) + " " + goalText(g)).
		Unit("percentunit").Decimals(1).
		WithTarget(instant(conversion(from, to, in(fiscal.ThisQuarter)), "conversion")).
		Thresholds(goal(g))
}

func funnelVolumesBarGauge() *bargauge.PanelBuilder {
	b := defaultBarGauge().Height(6).Span(12).
		Title("This quarter's leads through the funnel").
		Description("Leads created this fiscal quarter, and how many of them have reached each stage by now (never widening). " + stagesLegend()).
		Unit("none").Decimals(0).
		// Readable from across the room: the bars' names and values at TV size.
		Text(common.NewVizTextDisplayOptionsBuilder().TitleSize(20).ValueSize(26))
	for _, s := range funnel.Path {
		d, _ := funnel.Lookup(s)
		expr := sumOf(metrics.CohortLeads, in(fiscal.ThisQuarter), stepIs(funnel.Lead, funnel.MQL))
		if s != funnel.Lead {
			expr = sumOf(metrics.CohortConverted, in(fiscal.ThisQuarter), stepIs(funnel.Lead, s))
		}
		b = b.WithTarget(instant(expr, fmt.Sprintf("%s · %s", d.Title, d.Owner)))
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

// weekly is a period count of the last complete week, at each point in time: a step for each
// week.
func weekly(metric string, matchers ...string) string {
	return trendSumOf(metric, append([]string{in(fiscal.LastWeek)}, matchers...)...)
}

func marketingWeeklyTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Height(9).Span(12).
		Title("Marketing · week by week").
		Description("Leads created and leads that became MQL in each complete week (Monday to Sunday), as of each point in time.").
		Unit("none").Decimals(0).
		WithTarget(query(weekly(metrics.LeadsCreated), "leads / week")).
		WithTarget(query(weekly(metrics.FunnelStageEntered, stageIs(funnel.MQL)), "MQLs / week"))
}

func salesWeeklyTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Height(9).Span(12).
		Title("Sales · week by week").
		Description("Leads that became SQL and opportunities won in each complete week (Monday to Sunday), as of each point in time.").
		Unit("none").Decimals(0).
		WithTarget(query(weekly(metrics.FunnelStageEntered, stageIs(funnel.SQL)), "SQLs / week")).
		WithTarget(query(weekly(metrics.OpportunitiesWon), "deals won / week"))
}
