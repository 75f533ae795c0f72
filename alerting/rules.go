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

	"github.com/tandem-oss/tandem/dashboards"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// Options are the deployment-specific parts of the rules.
type Options struct {
	Job                 string  // the scrape job of the exporter
	GrafanaURL          string  // base URL for dashboard links in annotations
	RunbookURL          string  // URL of docs/runbooks.md
	ComplianceObjective float64 // alert when SLA compliance over a day falls below this
	ComplianceMinLeads  int     // ... and at least this many leads were followed up that day
	InflowDropRatio     float64 // alert when an hour's leads fall below this share of the same hour a week earlier
	InflowMinLeads      int     // ... and that hour a week earlier had at least this many
	StaleIntervals      int     // data is stale after this many poll intervals without a successful poll
	// Durations of the alerts' "for" clauses.
	WaitingFor, ComplianceFor, InflowFor, ExporterDownFor, StaleFor string
}

// Defaults are the committed rules' options.
func Defaults() Options {
	return Options{
		Job: "tandem", GrafanaURL: "http://localhost:3000",
		RunbookURL:          "https://github.com/tandem-oss/tandem/blob/main/docs/runbooks.md",
		ComplianceObjective: 0.9, ComplianceMinLeads: 10,
		InflowDropRatio: 0.5, InflowMinLeads: 10,
		StaleIntervals: 3,
		WaitingFor:     "2m", ComplianceFor: "1h", InflowFor: "30m", ExporterDownFor: "5m", StaleFor: "1m",
	}
}

// Alert names, shared with the Alertmanager configuration, the runbooks and the tests.
const (
	AlertLeadsWaiting    = "TandemLeadsWaitingOverSLA"
	AlertComplianceLow   = "TandemFollowupComplianceLow"
	AlertInflowCollapsed = "TandemLeadInflowCollapsed"
	AlertExporterDown    = "TandemExporterDown"
	AlertDataStale       = "TandemDataStale"
)

// Alerts lists every alert, for the runbook check.
var Alerts = []string{AlertLeadsWaiting, AlertComplianceLow, AlertInflowCollapsed, AlertExporterDown, AlertDataStale}

// Recording rule names (level:metric:operations).
const (
	RecWaitingOver     = "sales_team_region:tandem_followup_waiting_over_sla:sum"
	RecOldestWait      = "sales_team_region:tandem_followup_oldest_wait_seconds:max"
	RecCompliance      = "sales_team_region:tandem_followup_sla_compliance:ratio_rate1d"
	RecFollowedUp      = "sales_team_region:tandem_followup_decided:rate1d"
	RecComplianceAll   = ":tandem_followup_sla_compliance:ratio_rate1d"
	RecCostPerLead     = "channel:tandem_cost_per_lead:ratio_rate1d"
	RecCostPerMQL      = "channel:tandem_cost_per_mql:ratio_rate1d"
	RecCostPerOpp      = "channel:tandem_cost_per_opportunity:ratio_rate7d"
	RecCTR             = "channel:tandem_campaign_ctr:ratio_rate1d"
	RecROI             = "channel_model:tandem_attributed_roi:ratio_rate30d"
	RecConversionStepF = "source:tandem_funnel_%s_to_%s:ratio_rate7d"
)

// ConversionRule names the recording rule of one funnel step.
func ConversionRule(from, to funnel.Stage) string { return fmt.Sprintf(RecConversionStepF, from, to) }

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

func rate(metric, window string, matchers ...string) string {
	return fmt.Sprintf("rate(%s[%s])", sel(metric, matchers...), window)
}

// Build returns the rule groups.
func Build(o Options) File {
	by := metrics.DimSalesTeam + ", " + metrics.DimRegion
	within := fmt.Sprintf("sum by (%s) (%s)", by, rate(metrics.FollowupWithinSLA, "1d"))
	over := fmt.Sprintf("sum by (%s) (%s)", by, rate(metrics.FollowupOverSLA, "1d"))
	toChannel := func(expr string) string {
		return fmt.Sprintf(`label_replace(%s, "%s", "$1", "%s", "(.*)")`, expr, metrics.LabelChannel, metrics.DimSource)
	}
	spend := fmt.Sprintf("sum by (%s) (%s)", metrics.LabelChannel, rate(metrics.CampaignSpend, "1d"))

	followup := []Rule{
		{Record: RecWaitingOver, Expr: fmt.Sprintf("sum by (%s) (%s)", by, sel(metrics.FollowupWaiting, fmt.Sprintf(`%s="%s"`, metrics.LabelSLAStatus, metrics.SLAOver)))},
		{Record: RecOldestWait, Expr: fmt.Sprintf("max by (%s) (%s)", by, metrics.FollowupOldestWait)},
		{Record: RecFollowedUp, Expr: fmt.Sprintf("%s + %s", within, over)},
		{Record: RecCompliance, Expr: fmt.Sprintf("%s / %s", within, RecFollowedUp)},
		{Record: RecComplianceAll, Expr: fmt.Sprintf("sum(%s) / (sum(%s) + sum(%s))", rate(metrics.FollowupWithinSLA, "1d"), rate(metrics.FollowupWithinSLA, "1d"), rate(metrics.FollowupOverSLA, "1d"))},
	}
	marketing := []Rule{
		{Record: RecCostPerLead, Expr: fmt.Sprintf("%s / sum by (%s) (%s)", spend, metrics.LabelChannel, toChannel(rate(metrics.LeadsCreated, "1d")))},
		{Record: RecCostPerMQL, Expr: fmt.Sprintf("%s / sum by (%s) (%s)", spend, metrics.LabelChannel,
			toChannel(rate(metrics.FunnelStageEntered, "1d", fmt.Sprintf(`%s="%s"`, metrics.LabelFunnelStage, funnel.MQL))))},
	}
	spend7d := fmt.Sprintf("sum by (%s) (%s)", metrics.LabelChannel, rate(metrics.CampaignSpend, "7d"))
	spend30d := fmt.Sprintf("sum by (%s) (%s)", metrics.LabelChannel, rate(metrics.CampaignSpend, "30d"))
	marketing = append(marketing,
		Rule{Record: RecCostPerOpp, Expr: fmt.Sprintf("%s / sum by (%s) (%s)", spend7d, metrics.LabelChannel,
			toChannel(rate(metrics.FunnelStageEntered, "7d", fmt.Sprintf(`%s="%s"`, metrics.LabelFunnelStage, funnel.Opportunity))))},
		Rule{Record: RecCTR, Expr: fmt.Sprintf("sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)", metrics.LabelChannel,
			rate(metrics.CampaignClicks, "1d"), rate(metrics.CampaignImpressions, "1d"))},
		// ROI = (attributed won revenue − spend) ÷ spend, per channel and attribution model.
		Rule{Record: RecROI, Expr: fmt.Sprintf("(sum by (%[1]s, %[2]s) (%[3]s) - on (%[1]s) group_left %[4]s) / on (%[1]s) group_left %[4]s",
			metrics.LabelChannel, metrics.LabelModel, rate(metrics.AttributedRevenue, "30d"), spend30d)},
	)
	for i := 0; i+1 < len(funnel.Path); i++ {
		from, to := funnel.Path[i], funnel.Path[i+1]
		stage := func(s funnel.Stage) string {
			return fmt.Sprintf("sum by (%s) (%s)", metrics.DimSource, rate(metrics.FunnelStageEntered, "7d", fmt.Sprintf(`%s="%s"`, metrics.LabelFunnelStage, s)))
		}
		marketing = append(marketing, Rule{Record: ConversionRule(from, to), Expr: fmt.Sprintf("%s / %s", stage(to), stage(from))})
	}

	dash := func(uid, query string) string {
		return fmt.Sprintf("%s/d/%s/?%s", strings.TrimRight(o.GrafanaURL, "/"), uid, query)
	}
	runbook := func(alert string) string { return o.RunbookURL + "#" + strings.ToLower(alert) }
	job := fmt.Sprintf(`job="%s"`, o.Job)

	followup = append(followup,
		Rule{
			Alert: AlertLeadsWaiting, Expr: RecWaitingOver + " > 0", For: o.WaitingFor,
			Labels: map[string]string{"team": "sales", "severity": "page", "database": "crm"},
			Annotations: map[string]string{
				"summary": "{{ $value }} lead(s) waiting past the follow-up SLA in {{ $labels.sales_team }} ({{ $labels.region }})",
				"description": `{{ $value }} lead(s) owned by {{ $labels.sales_team }} in {{ $labels.region }} have had no first call, e-mail or meeting within the follow-up SLA.` +
					` The oldest has waited {{ with printf "` + RecOldestWait + `{sales_team='%s',region='%s'}" $labels.sales_team $labels.region | query }}{{ . | first | value | humanizeDuration }}{{ end }} of SLA time.` +
					` Contact them now: the odds of qualifying a lead fall steeply with every hour.`,
				"dashboard":   dash(dashboards.UIDSLA, "var-sales_team={{ $labels.sales_team }}&var-region={{ $labels.region }}"),
				"runbook_url": runbook(AlertLeadsWaiting),
			},
		},
		Rule{
			Alert:  AlertComplianceLow,
			Expr:   fmt.Sprintf("%s < %g and %s * 86400 >= %d", RecCompliance, o.ComplianceObjective, RecFollowedUp, o.ComplianceMinLeads),
			For:    o.ComplianceFor,
			Labels: map[string]string{"team": "sales", "severity": "ticket", "database": "crm"},
			Annotations: map[string]string{
				"summary":     fmt.Sprintf("Follow-up SLA compliance of {{ $labels.sales_team }} ({{ $labels.region }}) is {{ $value | humanizePercentage }} over the last day, below %g%%", o.ComplianceObjective*100),
				"description": "Of the leads {{ $labels.sales_team }} followed up in the last 24 hours, only {{ $value | humanizePercentage }} got their first touch within the SLA. Check staffing, routing and the waiting queue.",
				"dashboard":   dash(dashboards.UIDSales, "var-sales_team={{ $labels.sales_team }}&var-region={{ $labels.region }}"),
				"runbook_url": runbook(AlertComplianceLow),
			},
		})

	marketing = append(marketing, Rule{
		Alert: AlertInflowCollapsed,
		Expr: fmt.Sprintf("sum by (%[1]s) (increase(%[2]s[1h])) < %[3]g * sum by (%[1]s) (increase(%[2]s[1h] offset 1w))\nand sum by (%[1]s) (increase(%[2]s[1h] offset 1w)) >= %[4]d",
			metrics.DimSource, metrics.LeadsCreated, o.InflowDropRatio, o.InflowMinLeads),
		For:    o.InflowFor,
		Labels: map[string]string{"team": "marketing", "severity": "ticket", "database": "crm"},
		Annotations: map[string]string{
			"summary":     fmt.Sprintf("New leads from {{ $labels.source }} fell below %g%% of the same hour last week", o.InflowDropRatio*100),
			"description": fmt.Sprintf("Only {{ $value | humanize }} leads arrived from {{ $labels.source }} in the last hour, less than %g%% of the same hour one week earlier. A campaign, a form or a tracking tag may be broken.", o.InflowDropRatio*100),
			"dashboard":   dash(dashboards.UIDMarketing, "var-channel={{ $labels.source }}"),
			"runbook_url": runbook(AlertInflowCollapsed),
		},
	})

	exporter := []Rule{
		{
			Alert: AlertExporterDown, Expr: fmt.Sprintf("up{%s} == 0 or absent(up{%s})", job, job), For: o.ExporterDownFor,
			Labels: map[string]string{"team": "sales", "severity": "page"},
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
