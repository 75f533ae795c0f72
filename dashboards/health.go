package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/metrics"
)

// Health is the exporter's own dashboard: is every database polled, how fresh is the data, what
// fails, and what the data-quality checks find.
func Health(o Options) *dashboard.DashboardBuilder {
	return base(UIDHealth, "Tandem — exporter health",
		"Whether Tandem's numbers can be trusted right now: databases polled, data freshness, poll and query timings, errors, and data-quality findings.").
		Time("now-6h", "now").
		WithVariable(datasourceVariable(false)).WithVariable(jobVariable(false)).WithVariable(instanceVariable(false)).
		WithPanel(databaseUpStat()).
		WithPanel(dataAgeStat()).
		WithPanel(problemRowsStat()).
		WithPanel(targetsMissingStat()).
		WithPanel(pollDurationTimeseries()).
		WithPanel(queryErrorsTimeseries()).
		WithPanel(dataQualityBarGauge()).
		WithPanel(rowsReadTimeseries()).
		WithPanel(recountsTimeseries()).
		WithPanel(memoryTimeseries())
}

func databaseUpStat() *stat.PanelBuilder {
	return defaultStat().Span(8).Title("Databases polled").
		Description(help(metrics.Up)).
		Unit("bool_yes_no").
		// One value per exporter and database: a CRM outage shows next to a healthy campaign DB.
		WithTarget(instant(fmt.Sprintf("max by (job, instance, %s) (%s)", metrics.LabelDatabase, sel(metrics.Up)), "{{instance}} · {{database}}")).
		TextMode(common.BigValueTextModeValueAndName).
		Orientation(common.VizOrientationHorizontal).
		Thresholds(thresholds("red", 1.0, "green"))
}

func dataAgeStat() *stat.PanelBuilder {
	return defaultStat().Span(8).Title("Data age").
		Description("Time since the last successful poll of each database. " + help(metrics.LastSuccessfulPoll)).
		Unit("s").Decimals(0).
		WithTarget(instant(fmt.Sprintf("time() - max by (job, instance, %s) (%s)", metrics.LabelDatabase, sel(metrics.LastSuccessfulPoll)), "{{instance}} · {{database}}")).
		TextMode(common.BigValueTextModeValueAndName).
		Orientation(common.VizOrientationHorizontal).
		Thresholds(thresholds("green", 300.0, "orange", 900.0, "red"))
}

func problemRowsStat() *stat.PanelBuilder {
	return defaultStat().Span(8).Title("Rows failing data-quality checks").
		Description(help(metrics.DataQualityRows)).
		Unit("none").Decimals(0).
		WithTarget(instant(sumOf(metrics.DataQualityRows), "rows")).
		NoValue("0"). // no series: no row fails a check
		Thresholds(thresholds("green", 1.0, "orange"))
}

// targetsMissingStat names the current fiscal periods without a revenue target: the wall's pace
// says "No target set" for them, and here the operator sees which to add to targets.revenue.
func targetsMissingStat() *stat.PanelBuilder {
	return defaultStat().Span(24).Height(3).Title("Fiscal periods without a revenue target").
		Description(help(metrics.TargetMissing)).
		Unit("bool_yes_no").
		WithTarget(instant(fmt.Sprintf("max by (%s) (%s)", metrics.LabelName, sel(metrics.TargetMissing)), "{{name}} missing")).
		TextMode(common.BigValueTextModeValueAndName).
		Orientation(common.VizOrientationVertical).
		Thresholds(thresholds("green", 1.0, "red"))
}

func pollDurationTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Poll duration and interval").
		Description(help(metrics.PollDuration) + " A poll taking close to its interval needs a longer interval or faster queries.").
		Unit("s").
		WithTarget(query(sel(metrics.PollDuration), "{{database}} poll")).
		WithTarget(query(sel(metrics.PollInterval), "{{database}} interval"))
}

func queryErrorsTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Query errors (per hour)").
		Description(help(metrics.QueryErrors) + " Failed queries in the hour before each point, by exporter, database and query.").
		Unit("none").Decimals(0).
		WithTarget(query(fmt.Sprintf("sum by (instance, %s, %s) (increase(%s[1h]))", metrics.LabelDatabase, metrics.LabelQuery, sel(metrics.QueryErrors)), "{{instance}} {{database}} {{query}}"))
}

func dataQualityBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Data-quality findings by check").
		Description(help(metrics.DataQualityRows) + " docs/metrics.md says what each check does with the row.").
		Unit("none").Decimals(0).
		WithTarget(instant(sumBy(metrics.LabelDatabase+", "+metrics.LabelQuery+", "+metrics.LabelCheck, metrics.DataQualityRows),
			"{{database}} {{query}}: {{check}}")).
		NoValue("none")
}

func rowsReadTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Rows read per second").
		Description(help(metrics.QueryRows)).
		Unit("none").Decimals(1).
		WithTarget(query(fmt.Sprintf("sum by (%s, %s) (rate(%s[$__rate_interval]))", metrics.LabelDatabase, metrics.LabelQuery, sel(metrics.QueryRows)), "{{database}} {{query}}"))
}

// recountsTimeseries shows whether polls stay incremental: full reads should come once per
// reconcile_interval, full recounts rarely, and drift (rows the incremental reads missed) near 0.
func recountsTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Full reads, full recounts and drift (per hour)").
		Description(help(metrics.FullReads) + " " + help(metrics.TallyRebuilds) + " " + help(metrics.ReconciliationDrift)).
		Unit("none").Decimals(0).
		WithTarget(query(fmt.Sprintf("sum by (%s) (increase(%s[1h]))", metrics.LabelDatabase, sel(metrics.FullReads)), "{{database}} full reads")).
		WithTarget(query(fmt.Sprintf("sum by (%s) (increase(%s[1h]))", metrics.LabelDatabase, sel(metrics.TallyRebuilds)), "{{database}} full recounts")).
		WithTarget(query(fmt.Sprintf("sum by (%s, %s) (increase(%s[1h]))", metrics.LabelQuery, metrics.LabelKind, sel(metrics.ReconciliationDrift)), "{{query}} {{kind}}"))
}

// memoryTimeseries shows the exporter's memory as a container sees it, with what it is made of:
// the Go heap and the stores' records outside it, and the limit the runtime works under (absent
// without one), which a growing number of leads moves towards.
func memoryTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Exporter memory").
		Description("Resident memory of each exporter, the Go heap in use, and " + help(metrics.ExporterMapped) +
			" The limit is the runtime's (GOMEMLIMIT less the mapped memory), shown when one is set.").
		Unit("bytes").
		WithTarget(query(exporterSel("process_resident_memory_bytes"), "{{instance}} resident")).
		WithTarget(query(exporterSel("go_memstats_heap_inuse_bytes"), "{{instance}} Go heap in use")).
		WithTarget(query(sel(metrics.ExporterMapped), "{{instance}} stores outside the heap")).
		WithTarget(query(exporterSel("go_gc_gomemlimit_bytes")+" < 2^62", "{{instance}} runtime limit")).
		NoValue("no exporter scraped") // the limit alone is absent without one, by design
}
