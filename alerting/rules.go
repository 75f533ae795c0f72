// Package alerting generates Tandem's Prometheus recording and alerting rules from the same
// constants the exporter publishes (metric and label names, funnel stages, dashboard UIDs), so
// a threshold or a name is written once. `go generate ./alerting` writes
// deploy/prometheus/rules/tandem.rules.yml; a test fails when the committed file drifts.
package alerting

//go:generate go run ./gen

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/dashboards"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// Options are the deployment-specific parts of the rules.
type Options struct {
	Job                 string  // the scrape job of the exporter
	GrafanaURL          string  // base URL for dashboard links in annotations
	RunbookURL          string  // URL of docs/runbooks.md
	ComplianceObjective float64 // alert when today's SLA compliance falls below this
	ComplianceMinLeads  int     // ... and at least this many leads were due today
	InflowDropRatio     float64 // alert when an hour's marketing leads fall below this share of the same hour a week earlier
	InflowMinLeads      int     // ... and that hour a week earlier had at least this many
	StaleIntervals      int     // data is stale after this many poll intervals without a successful poll
	// Durations of the alerts' "for" clauses.
	WaitingFor, BacklogFor, ComplianceFor, InflowFor, ExporterDownFor, StaleFor string
}

// OptionsFrom takes the deployment's options from a loaded configuration (grafana.url).
func OptionsFrom(c *config.Config) Options {
	o := Defaults()
	o.GrafanaURL = c.Grafana.URL
	return o
}

// Defaults are the committed rules' options: the configuration's defaults.
func Defaults() Options {
	return Options{
		Job: "tandem", GrafanaURL: config.Default().Grafana.URL,
		RunbookURL:          "https://github.com/tandem-oss/tandem/blob/main/docs/runbooks.md",
		ComplianceObjective: 0.9, ComplianceMinLeads: 10,
		InflowDropRatio: 0.5, InflowMinLeads: 10,
		StaleIntervals: 3,
		WaitingFor:     "2m", BacklogFor: "1h", ComplianceFor: "1h", InflowFor: "30m", ExporterDownFor: "5m", StaleFor: "1m",
	}
}

// Alert names, shared with the Alertmanager configuration, the runbooks and the tests.
const (
	AlertLeadsWaiting    = "TandemLeadsWaitingOverSLA"
	AlertBacklog         = "TandemFollowupBacklog"
	AlertComplianceLow   = "TandemFollowupComplianceLow"
	AlertInflowCollapsed = "TandemLeadInflowCollapsed"
	AlertExporterDown    = "TandemExporterDown"
	AlertDataStale       = "TandemDataStale"
)

// Alerts lists every alert, for the runbook check.
var Alerts = []string{AlertLeadsWaiting, AlertBacklog, AlertComplianceLow, AlertInflowCollapsed, AlertExporterDown, AlertDataStale}

// Recording rule names (level:metric:operations). The period ones keep the period label: each is
// the ratio of one period's event-time numbers, the same definition the dashboards use.
const (
	RecRecentBreaches = "sales_team_region:tandem_followup_recently_breached_leads:sum"
	RecRecentOldest   = "sales_team_region:tandem_followup_recently_breached_oldest_wait_seconds:max"
	RecWaitingOver    = "sales_team_region:tandem_followup_waiting_over_sla:sum"
	RecOldestWait     = "sales_team_region:tandem_followup_oldest_wait_seconds:max"
	RecDue            = "period_sales_team_region:tandem_followup_due_leads:sum"
	RecCompliance     = "period_sales_team_region:tandem_followup_sla_compliance:ratio"
	RecComplianceAll  = "period:tandem_followup_sla_compliance:ratio"
	RecCostPerLead    = "period_channel:tandem_cost_per_lead:ratio"
	RecCostPerMQL     = "period_channel:tandem_cost_per_mql:ratio"
	RecCostPerOpp     = "period_channel:tandem_cost_per_opportunity:ratio"
	RecCTR            = "period_channel:tandem_campaign_ctr:ratio"
	RecROI            = "period_channel_model:tandem_attributed_roi:ratio"
	RecConversion     = "period_funnel_step:tandem_funnel_cohort_conversion:ratio"
)

// Rule is one Prometheus rule.
type Rule struct {
	Record      string            `yaml:"record,omitempty" json:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty" json:"alert,omitempty"`
	Expr        string            `yaml:"expr" json:"expr"`
	For         string            `yaml:"for,omitempty" json:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// Group is a rule group.
type Group struct {
	Name     string `yaml:"name" json:"name"`
	Interval string `yaml:"interval,omitempty" json:"interval,omitempty"`
	Rules    []Rule `yaml:"rules" json:"rules"`
}

// File is a Prometheus rule file.
type File struct {
	Groups []Group `yaml:"groups"`
}

func sel(metric string, matchers ...string) string {
	if len(matchers) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(matchers, ", ") + "}"
}

func eq(label, value string) string { return fmt.Sprintf("%s=%q", label, value) }

func sumBy(by, metric string, matchers ...string) string {
	return fmt.Sprintf("sum by (%s) (%s)", by, sel(metric, matchers...))
}

// ratio divides where the denominator is above zero: no NaN or Inf is recorded.
func ratio(num, den string) string { return fmt.Sprintf("%s / (%s > 0)", num, den) }

// plus adds two vectors of the same labels, keeping the series only one of them has.
func plus(a, b string) string { return fmt.Sprintf("(%[1]s + %[2]s or %[1]s or %[2]s)", a, b) }

// valueFor is a template that prints the value of a recorded series with the alert's own
// sales_team and region, by comparing labels in the template: no PromQL is built from label
// values, so a region such as "Côte d'Ivoire" or a hostile value cannot break or inject a query.
func valueFor(record, format string) string {
	return `{{ range query "` + record + `" }}{{ if and (eq .Labels.job $labels.job) (eq .Labels.instance $labels.instance) (eq .Labels.sales_team $labels.sales_team) (eq .Labels.region $labels.region) }}{{ .Value | ` + format + ` }}{{ end }}{{ end }}`
}

// exporterLabels are the target labels that tell one exporter (one CRM) from another. The
// alert-facing rules keep them, so each CRM alerts on its own and an Alertmanager inhibition
// (stale data, exporter down) mutes only that exporter's alerts.
const exporterLabels = "job, instance"

// Build returns the rule groups.
func Build(o Options) File {
	team := exporterLabels + ", " + metrics.DimSalesTeam + ", " + metrics.DimRegion
	byTeam := metrics.LabelPeriod + ", " + team
	within := sumBy(byTeam, metrics.FollowupWithinSLA)
	breached := sumBy(byTeam, metrics.FollowupBreached)
	today := eq(metrics.LabelPeriod, string(fiscal.Today))

	followup := []Rule{
		{Record: RecRecentBreaches, Expr: sumBy(team, metrics.RecentlyBreached)},
		{Record: RecRecentOldest, Expr: fmt.Sprintf("max by (%s) (%s)", team, metrics.RecentlyBreachedOldest)},
		{Record: RecWaitingOver, Expr: sumBy(team, metrics.FollowupWaiting, eq(metrics.LabelSLAStatus, metrics.SLAOver))},
		{Record: RecOldestWait, Expr: fmt.Sprintf("max by (%s) (%s)", team, metrics.FollowupOldestWait)},
		{Record: RecDue, Expr: plus(within, breached)},
		// A team whose every due lead breached has no within series: its compliance is 0.
		{Record: RecCompliance, Expr: ratio(fmt.Sprintf("(%s or %s * 0)", within, RecDue), RecDue)},
		{Record: RecComplianceAll, Expr: ratio(fmt.Sprintf("(%s or %s * 0)", sumBy(metrics.LabelPeriod, metrics.FollowupWithinSLA), sumBy(metrics.LabelPeriod, RecDue)),
			sumBy(metrics.LabelPeriod, RecDue))},
	}
	perChannel := metrics.LabelPeriod + ", " + metrics.LabelChannel
	spend := sumBy(perChannel, metrics.CampaignSpend)
	reached := func(st funnel.Stage) string {
		return sumBy(perChannel, metrics.CampaignLeads, eq(metrics.LabelFunnelStage, string(st)))
	}
	marketing := []Rule{
		// Cost per lead, MQL and opportunity: the period's campaign spend ÷ the period's leads of
		// those campaigns that reached the stage (the dashboards' definition).
		{Record: RecCostPerLead, Expr: ratio(spend, reached(funnel.Lead))},
		{Record: RecCostPerMQL, Expr: ratio(spend, reached(funnel.MQL))},
		{Record: RecCostPerOpp, Expr: ratio(spend, reached(funnel.Opportunity))},
		{Record: RecCTR, Expr: ratio(sumBy(perChannel, metrics.CampaignClicks), sumBy(perChannel, metrics.CampaignImpressions))},
		// ROI = (attributed won revenue − spend) ÷ spend, per period, channel and model.
		{Record: RecROI, Expr: fmt.Sprintf("(%[1]s - on (%[2]s) group_left() %[3]s) / on (%[2]s) group_left() (%[3]s > 0)",
			sumBy(perChannel+", "+metrics.LabelModel, metrics.AttributedRevenue), perChannel, spend)},
		// The cohort conversion of every funnel step, between 0 and 1.
		{Record: RecConversion, Expr: ratio(sumBy(metrics.LabelPeriod+", "+metrics.LabelFunnelStep, metrics.CohortConverted),
			sumBy(metrics.LabelPeriod+", "+metrics.LabelFunnelStep, metrics.CohortLeads))},
	}

	dash := func(uid, query string) string {
		return fmt.Sprintf("%s/d/%s/?%s", strings.TrimRight(o.GrafanaURL, "/"), uid, query)
	}
	teamVars := `var-sales_team={{ $labels.sales_team | urlquery }}&var-region={{ $labels.region | urlquery }}`
	runbook := func(alert string) string { return o.RunbookURL + "#" + strings.ToLower(alert) }
	job := fmt.Sprintf(`job="%s"`, o.Job)

	followup = append(followup,
		Rule{
			Alert: AlertLeadsWaiting, Expr: RecRecentBreaches + " > 0", For: o.WaitingFor,
			Labels: map[string]string{"team": "sales", "severity": "page", "database": "crm"},
			Annotations: map[string]string{
				"summary": "{{ $value }} lead(s) of {{ $labels.sales_team }} ({{ $labels.region }}) passed their follow-up deadline untouched",
				"description": `{{ $value }} lead(s) owned by {{ $labels.sales_team }} in {{ $labels.region }} passed their follow-up SLA deadline without a first call, e-mail or meeting, and are still waiting.` +
					` The oldest has waited ` + valueFor(RecRecentOldest, "humanizeDuration") + ` of SLA time.` +
					` Contact them now: the odds of qualifying a lead fall steeply with every hour.`,
				"dashboard":   dash(dashboards.UIDSLA, teamVars),
				"runbook_url": runbook(AlertLeadsWaiting),
			},
		},
		Rule{
			// Leads still waiting whose deadline passed longer ago than the page window: the
			// backlog, for the team lead to clear or disqualify, not a page.
			Alert: AlertBacklog, Expr: fmt.Sprintf("%s - (%s or %s * 0) > 0", RecWaitingOver, RecRecentBreaches, RecWaitingOver), For: o.BacklogFor,
			Labels: map[string]string{"team": "sales", "severity": "ticket", "database": "crm"},
			Annotations: map[string]string{
				"summary":     "{{ $value }} lead(s) of {{ $labels.sales_team }} ({{ $labels.region }}) have waited past their follow-up deadline for long",
				"description": "{{ $value }} lead(s) owned by {{ $labels.sales_team }} in {{ $labels.region }} passed their follow-up deadline longer ago than the page window and still have had no touch. The oldest has waited " + valueFor(RecOldestWait, "humanizeDuration") + " of SLA time. Work the queue, or disqualify the leads that are no longer workable.",
				"dashboard":   dash(dashboards.UIDSLA, teamVars),
				"runbook_url": runbook(AlertBacklog),
			},
		},
		Rule{
			Alert: AlertComplianceLow,
			Expr: fmt.Sprintf("%s < %g and %s >= %d", sel(RecCompliance, today), o.ComplianceObjective,
				sel(RecDue, today), o.ComplianceMinLeads),
			For:    o.ComplianceFor,
			Labels: map[string]string{"team": "sales", "severity": "ticket", "database": "crm"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("Follow-up SLA compliance of {{ $labels.sales_team }} ({{ $labels.region }}) is {{ $value | humanizePercentage }} today, below %g%%", o.ComplianceObjective*100),
				"description": "Of the leads of {{ $labels.sales_team }} whose follow-up deadline fell today, only {{ $value | humanizePercentage }} were touched by it. Check staffing, routing and the waiting queue.",
				"dashboard":   dash(dashboards.UIDSales, teamVars),
				"runbook_url": runbook(AlertComplianceLow),
			},
		})

	arrived := func(window string) string {
		return sumBy(exporterLabels+", "+metrics.DimSource, metrics.MarketingLeadsArrived, eq(metrics.LabelWindow, window))
	}
	marketing = append(marketing, Rule{
		Alert: AlertInflowCollapsed,
		Expr: fmt.Sprintf("%s < %g * %s\nand %s >= %d",
			arrived(metrics.WindowLastHour), o.InflowDropRatio, arrived(metrics.WindowSameHourLastWeek), arrived(metrics.WindowSameHourLastWeek), o.InflowMinLeads),
		For:    o.InflowFor,
		Labels: map[string]string{"team": "marketing", "severity": "ticket", "database": "crm"},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("New leads from {{ $labels.source }} fell below %g%% of the same hour last week", o.InflowDropRatio*100),
			"description": fmt.Sprintf("Only {{ $value | humanize }} leads arrived from {{ $labels.source }} in the last hour (by their created time), less than %g%% of the same hour one week earlier. A campaign, a form or a tracking tag may be broken.", o.InflowDropRatio*100),
			"dashboard":   dash(dashboards.UIDMarketing, ""),
			"runbook_url": runbook(AlertInflowCollapsed),
		},
	})

	exporter := []Rule{
		{
			Alert: AlertExporterDown, Expr: fmt.Sprintf("up{%s} == 0 or absent(up{%s})", job, job), For: o.ExporterDownFor,
			// The exporter's operator owns it, not a sales rep: their own receiver.
			Labels: map[string]string{"team": "ops", "severity": "page"},
			Annotations: map[string]string{
				"summary":     "The Tandem exporter is down: follow-up SLA alerts cannot fire",
				"description": "Prometheus cannot scrape the Tandem exporter ({{ $labels.instance }}). While it is down no lead-waiting alert can fire and the wall freezes.",
				"dashboard":   dash(dashboards.UIDHealth, ""),
				"runbook_url": runbook(AlertExporterDown),
			},
		},
		{
			Alert: AlertDataStale,
			Expr: fmt.Sprintf("time() - %[1]s > %[2]d * %[3]s\nor (%[4]s == 0 unless on (job, instance, database) %[1]s)",
				metrics.LastSuccessfulPoll, o.StaleIntervals, metrics.PollInterval, metrics.Up),
			For: o.StaleFor,
			Labels: map[string]string{
				"team":     `{{ if eq $labels.database "campaigns" }}marketing{{ else }}sales{{ end }}`,
				"severity": "ticket",
			},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("Tandem's {{ $labels.database }} data is stale: no successful poll for %d intervals", o.StaleIntervals),
				"description": "The exporter has not read the {{ $labels.database }} database successfully for a while; its numbers are frozen and alerts on them are silenced. See tandem_up, tandem_query_errors_total and the exporter's logs.",
				"dashboard":   dash(dashboards.UIDHealth, ""),
				"runbook_url": runbook(AlertDataStale),
			},
		},
	}
	// An alert sits in the group of the recording rules it reads, after them: rules in a group
	// are evaluated in order, so the alert sees this evaluation's values, not the last one's.
	return File{Groups: []Group{
		{Name: "tandem.followup", Rules: followup},
		{Name: "tandem.marketing", Rules: marketing},
		{Name: "tandem.exporter", Rules: exporter},
	}}
}

// YAML renders a rule file.
func YAML(f File) ([]byte, error) { return encode(f) }

// encode writes a generated YAML document with its do-not-edit header.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# Generated by `go generate ./alerting` from alerting/rules.go; edit the Go code, not this file.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// PrometheusRuleYAML renders the same groups as a Prometheus Operator PrometheusRule, for the
// Kubernetes manifests (deploy/kubernetes).
func PrometheusRuleYAML(f File) ([]byte, error) {
	obj := struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec File `yaml:"spec"`
	}{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule", Spec: f}
	obj.Metadata.Name = "tandem"
	obj.Metadata.Labels = map[string]string{"role": "alert-rules"}
	return encode(obj)
}
