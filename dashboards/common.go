package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// DatasourceUID is the provisioned Prometheus data source (deploy/grafana/provisioning).
const DatasourceUID = "tandem-prometheus"

// Options are the deployment-specific parts of the dashboards.
type Options struct {
	Currency  string  // ISO code of the reporting currency: the unit of every amount
	SLATarget float64 // seconds; the default threshold line (the live value is tandem_sla_target_seconds)
	// FiscalStartMonth is targets.fiscal_year_start_month (1 = January): Grafana's fiscal time
	// ranges follow it.
	FiscalStartMonth int
}

// unit returns Grafana's unit id for the reporting currency.
func (o Options) money() string { return "currency" + strings.ToUpper(o.Currency) }

func ds() dashboard.DataSourceRef {
	return dashboard.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// datasourceVariable picks the Prometheus data source; hidden where a screen must not ask.
func datasourceVariable(hidden bool) *dashboard.DatasourceVariableBuilder {
	v := dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("Prometheus")},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr(DatasourceUID)},
		})
	if hidden {
		v = v.Hide(dashboard.VariableHideHideVariable)
	}
	return v
}

// labelVariable is a multi-value variable over a label's values, "All" by default.
func labelVariable(name, label, metric, labelName string) *dashboard.QueryVariableBuilder {
	q := fmt.Sprintf("label_values(%s, %s)", metric, labelName)
	return dashboard.NewQueryVariableBuilder(name).Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
		Datasource(ds()).
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value:    dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true).AllValue(".*")
}

// Several CRMs, one exporter each: every dashboard picks the exporters it shows by their scrape
// job and instance (all by default, so the wall adds every CRM up), and every selector filters on
// both.
const (
	jobVar      = "job"
	instanceVar = "instance"
)

func jobVariable(hidden bool) *dashboard.QueryVariableBuilder {
	v := labelVariable(jobVar, "Exporter job", metrics.Up, "job").
		Description("The scrape job of the Tandem exporters shown (one per CRM, or a crm label set at scrape time); all by default, added up.")
	if hidden {
		v = v.Hide(dashboard.VariableHideHideVariable)
	}
	return v
}

func instanceVariable(hidden bool) *dashboard.QueryVariableBuilder {
	v := labelVariable(instanceVar, "Exporter", fmt.Sprintf(`%s{job=~"$%s"}`, metrics.Up, jobVar), "instance").
		Description("The Tandem exporters (instances) shown; all by default, added up.")
	if hidden {
		v = v.Hide(dashboard.VariableHideHideVariable)
	}
	return v
}

// exporterMatchers filter a selector on the exporters picked.
var exporterMatchers = []string{re("job", jobVar), re("instance", instanceVar)}

// sel writes a selector for a catalogue metric; matchers are "label=value" PromQL matchers. The
// exporter filter is always there.
func sel(metric string, matchers ...string) string {
	if _, ok := metrics.Lookup(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(metric, "_bucket"), "_sum"), "_count")); !ok {
		panic("dashboards: not a Tandem metric: " + metric)
	}
	return exporterSel(metric, matchers...)
}

// exporterSel is sel for any metric the exporters serve, the Go runtime's and the process's
// included (go_*, process_*), which the catalogue does not list.
func exporterSel(metric string, matchers ...string) string {
	ms := append([]string{}, exporterMatchers...)
	for _, m := range matchers {
		if m != "" {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(ms, ", ") + "}"
}

func eq(label, value string) string { return fmt.Sprintf(`%s=%q`, label, value) }

func re(label, variable string) string { return fmt.Sprintf(`%s=~"$%s"`, label, variable) }

func stageIs(s funnel.Stage) string { return eq(metrics.LabelFunnelStage, string(s)) }

// The period every team dashboard shows: a custom variable over the exporter's windows, this
// fiscal quarter by default. Every period metric is filtered on it, so each number is the
// event-time number of the period picked, as an analyst's SQL for it would compute it.
const periodVar = "period"

func periodVariable() *dashboard.CustomVariableBuilder {
	var pairs []string
	var options []dashboard.VariableOption
	for _, w := range fiscal.Windows() {
		pairs = append(pairs, fmt.Sprintf("%s : %s", w.Title(), w))
		options = append(options, dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(w.Title())},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(w))}})
	}
	values := strings.Join(pairs, ", ")
	def := fiscal.ThisQuarter
	return dashboard.NewCustomVariableBuilder(periodVar).Label("Period").
		Description("The period every number on this dashboard counts: the rows whose event time (created, became MQL, closed, the stat day, the SLA deadline) falls in it, in the company time zone and fiscal calendar.").
		Values(dashboard.StringOrMap{String: cog.ToPtr(values)}).Definition(values).
		Options(options).
		Current(dashboard.VariableOption{Selected: cog.ToPtr(true), Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(def.Title())},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(def))}})
}

// picked matches the period chosen on the dashboard.
var picked = re(metrics.LabelPeriod, periodVar)

// in matches a fixed window.
func in(w fiscal.Window) string { return eq(metrics.LabelPeriod, string(w)) }

// sumOf sums a metric over its series that match.
func sumOf(metric string, matchers ...string) string {
	return fmt.Sprintf("sum(%s)", sel(metric, matchers...))
}

// historyWindow is how far back a trend panel looks for each step's sample: the coarsest spacing
// of the backfilled history (backfill.DefaultPlan.Step, a day; a test holds them together). The
// live scrapes come every few seconds, but before them the history has one sample a day, and a
// plain selector (Prometheus looks back 5 minutes) would draw dots a day apart, not a line.
const historyWindow = "1d"

// trendSumOf is sumOf for a trend panel: the last sample within historyWindow of each series.
func trendSumOf(metric string, matchers ...string) string {
	return fmt.Sprintf("sum(last_over_time(%s[%s]))", sel(metric, matchers...), historyWindow)
}

// trendSumBy is sumBy for a trend panel (see trendSumOf).
func trendSumBy(by, metric string, matchers ...string) string {
	return fmt.Sprintf("sum by (%s) (last_over_time(%s[%s]))", by, sel(metric, matchers...), historyWindow)
}

// sumBy sums a metric by labels.
func sumBy(by, metric string, matchers ...string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, sel(metric, matchers...))
}

// ratio divides two expressions, only where the denominator is above zero: an undefined ratio
// stays empty instead of NaN or Inf, and no "or vector(0)" makes up a value.
func ratio(num, den string) string { return fmt.Sprintf("(%s) / (%s > 0)", num, den) }

// stepIs matches a funnel step.
func stepIs(from, to funnel.Stage) string {
	st, ok := funnel.StepOf(from, to)
	if !ok {
		panic(fmt.Sprintf("dashboards: no funnel step %s → %s", from, to))
	}
	return eq(metrics.LabelFunnelStep, st.Name())
}

// conversion is the cohort conversion of a funnel step: of the leads that reached from in the
// period, the share that has reached to by now, between 0 and 1 by construction.
func conversion(from, to funnel.Stage, matchers ...string) string {
	m := append([]string{stepIs(from, to)}, matchers...)
	return ratio(sumOf(metrics.CohortConverted, m...), sumOf(metrics.CohortLeads, m...))
}

// percentileOf is a quantile metric's value at percentile p (50: the median).
func percentileOf(metric string, p int, matchers ...string) string {
	return sel(metric, append([]string{eq(metrics.LabelPercentile, metrics.PercentileLabel(p))}, matchers...)...)
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend)
}

func instant(expr, legend string) *prometheus.DataqueryBuilder {
	return query(expr, legend).Instant()
}

func tableQuery(expr, refID string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).Instant().Format(prometheus.PromQueryFormatTable).RefId(refID)
}

// help returns the catalogue's definition of a metric: panel descriptions quote it.
func help(metric string) string {
	d, ok := metrics.Lookup(metric)
	if !ok {
		panic("dashboards: not a Tandem metric: " + metric)
	}
	return d.Help
}

// stageText is the common-language definition of a stage, as panels print it.
func stageText(s funnel.Stage) string {
	d, _ := funnel.Lookup(s)
	return fmt.Sprintf("%s (owned by %s): %s Counted at %s.", d.Title, d.Owner, d.Definition, d.EnteredWhen)
}

func stageTitle(s funnel.Stage) string {
	d, _ := funnel.Lookup(s)
	return d.Title
}

func thresholds(base string, steps ...any) *dashboard.ThresholdsConfigBuilder {
	ts := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(steps); i += 2 {
		v := steps[i].(float64)
		ts = append(ts, dashboard.Threshold{Value: cog.ToPtr(v), Color: steps[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

// goal colours a ratio by its owner's goal, defined once in the funnel package.
func goal(g funnel.Goal) *dashboard.ThresholdsConfigBuilder {
	return thresholds("red", g.Low, "orange", g.High, "green")
}

// goalText says in a description what the colours mean.
func goalText(g funnel.Goal) string {
	return fmt.Sprintf("Colour: %s's goal for %s (%s) is red below %s, orange below %s, green from there.",
		g.Owner, g.Name, g.Why, pct(g.Low), pct(g.High))
}

func pct(v float64) string { return fmt.Sprintf("%g%%", v*100) }

// neutral is a number with no good or bad of its own (a count, an amount): plain text, not a
// colour that would suggest a verdict.
func neutral(b *stat.PanelBuilder) *stat.PanelBuilder {
	return b.ColorMode(common.BigValueColorModeNone).Thresholds(thresholds("text"))
}

func defaultStat() *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Datasource(ds()).
		Height(5).Span(4).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeNone).
		TextMode(common.BigValueTextModeValue).
		JustifyMode(common.BigValueJustifyModeCenter).
		Thresholds(thresholds("blue"))
}

func defaultTimeseries() *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Datasource(ds()).
		Height(8).Span(12).
		LineWidth(2).FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
}

func defaultBarGauge() *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Datasource(ds()).
		Height(8).Span(12).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Thresholds(thresholds("blue"))
}

func defaultTable() *table.PanelBuilder {
	return table.NewPanelBuilder().
		Datasource(ds()).
		Height(10).Span(24)
}

// link is a link to another Tandem dashboard, keeping the time range and variables.
func link(title, uid string) *dashboard.DashboardLinkBuilder {
	return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).
		Url("/d/" + uid).KeepTime(true).IncludeVars(true)
}

// base is what every Tandem dashboard shares: fixed UID, read-only, the tandem tag, links to
// the others.
func base(uid, title, description string) *dashboard.DashboardBuilder {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"tandem"}).
		Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Timezone(common.TimeZoneBrowser).
		Refresh("1m")
	for _, l := range []struct{ title, uid string }{
		{"Leadership wall", UIDWall}, {"Marketing", UIDMarketing}, {"Sales", UIDSales},
		{"Follow-up SLA", UIDSLA}, {"Exporter health", UIDHealth},
	} {
		if l.uid != uid {
			b = b.Link(link(l.title, l.uid))
		}
	}
	return b
}
