package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/metrics"
)

// SLA is the follow-up SLA board, the on-call view the lead-waiting alert links to: who is
// waiting, for how long, and which team owns them.
func SLA(o Options) *dashboard.DashboardBuilder {
	b := base(UIDSLA, "Tandem — follow-up SLA",
		"The on-call view: leads waiting for a first call, e-mail or meeting, how long they have waited in SLA time, and which team owns them.").
		Time("now-24h", "now").
		Refresh("30s").
		WithVariable(datasourceVariable(false)).WithVariable(jobVariable(false)).WithVariable(instanceVariable(false))
	return teamVariables(b).
		WithPanel(recentlyBreachedStat().Span(6)).
		WithPanel(waitingOverStat().Span(6)).
		WithPanel(waitingWithinStat().Span(6)).
		WithPanel(oldestWaitStat(o).Span(6)).
		WithPanel(waitingTable()).
		WithPanel(waitingOverTimeseries()).
		WithPanel(slaTargetStat().Span(24).Height(3))
}

func waitingWithinStat() *stat.PanelBuilder {
	return defaultStat().Title("Waiting, still within the SLA").
		Description(help(metrics.FollowupWaiting) + " Here: not yet over the target.").
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAWithin), byTeam, byRegion), "within SLA")).
		NoValue("0") // no series: nobody waits
}

// recentlyBreachedStat is what the page is about: leads whose deadline passed in the page window
// and that still have had no touch.
func recentlyBreachedStat() *stat.PanelBuilder {
	return defaultStat().Title("Breached recently, still untouched").
		Description(help(metrics.RecentlyBreached)).
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.RecentlyBreached, byTeam, byRegion), "recent breaches")).
		NoValue("0").
		Thresholds(thresholds("green", 1.0, "red"))
}

func slaTargetStat() *stat.PanelBuilder {
	return defaultStat().Title("SLA target").
		Description(help(metrics.SLATarget) + " Time to first qualifying touch, in business hours where configured.").
		Unit("s").Decimals(0).
		WithTarget(instant(fmt.Sprintf("max(%s)", sel(metrics.SLATarget)), "target"))
}

func waitingTable() *table.PanelBuilder {
	group := fmt.Sprintf("%s, %s", metrics.DimSalesTeam, metrics.DimRegion)
	return defaultTable().Title("Who is waiting").
		Description("Leads waiting for a first qualifying touch now, by owning team and region, with the longest wait in SLA time. "+help(metrics.FollowupOldestWait)).
		WithTarget(tableQuery(fmt.Sprintf("sum by (%s) (%s)", group, sel(metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAOver), byTeam, byRegion)), "over")).
		WithTarget(tableQuery(fmt.Sprintf("sum by (%s) (%s)", group, sel(metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAWithin), byTeam, byRegion)), "within")).
		WithTarget(tableQuery(fmt.Sprintf("max by (%s) (%s)", group, sel(metrics.FollowupOldestWait, byTeam, byRegion)), "oldest")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName": map[string]any{
				"Value #over": "over SLA", "Value #within": "within SLA", "Value #oldest": "oldest wait",
				"sales_team": "team", "region": "region",
			},
		}}).
		OverrideByName("oldest wait", []dashboard.DynamicConfigValue{{Id: "unit", Value: "s"}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "sortBy", Options: map[string]any{"sort": []map[string]any{{"field": "oldest wait", "desc": true}}}})
}

func waitingOverTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Span(24).Title("Leads waiting past the SLA, by team").
		Description(help(metrics.FollowupWaiting)).
		Unit("none").Decimals(0).
		WithTarget(query(fmt.Sprintf("sum by (%s, %s) (%s)", metrics.DimSalesTeam, metrics.DimRegion,
			sel(metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAOver), byTeam, byRegion)), "{{sales_team}} {{region}}"))
}
