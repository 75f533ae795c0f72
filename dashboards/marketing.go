package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/attribution"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// The channel and campaign variables filter the campaign metrics: the campaign's own channel,
// never a lead's source relabelled.
var (
	byChannel  = re(metrics.LabelChannel, "channel")
	byCampaign = re(metrics.LabelCampaign, "campaign")
	byModel    = re(metrics.LabelModel, "model")
	chosen     = []string{picked, byChannel, byCampaign}
)

// modelVariable picks the attribution model; linear by default.
func modelVariable() *dashboard.CustomVariableBuilder {
	names := make([]string, len(attribution.Models))
	options := make([]dashboard.VariableOption, len(attribution.Models))
	for i, m := range attribution.Models {
		names[i] = string(m)
		options[i] = dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(m))}, Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(m))}}
	}
	values := strings.Join(names, ",")
	return dashboard.NewCustomVariableBuilder("model").Label("Attribution model").
		Description("How won revenue is credited to the campaigns a lead touched before the win: docs/metrics.md gives each model's rule.").
		Values(dashboard.StringOrMap{String: cog.ToPtr(values)}).Definition(values).
		Options(options).
		Current(dashboard.VariableOption{Selected: cog.ToPtr(true), Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(attribution.Linear))},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(string(attribution.Linear))}})
}

// Marketing is marketing's dashboard by channel and campaign, for the period picked: volume,
// cost, clicks, sales' verdict on the leads (accepted or rejected, and why) and attributed revenue.
func Marketing(o Options) *dashboard.DashboardBuilder {
	return base(UIDMarketing, "Tandem — marketing",
		"Marketing's results by channel and campaign for the period picked: leads, MQLs, spend, cost per lead and MQL, clicks and CTR, sales' acceptance and rejection of the leads with the reasons, and attributed revenue.").
		Time("now-30d", "now").
		WithVariable(datasourceVariable(false)).WithVariable(jobVariable(false)).WithVariable(instanceVariable(false)).
		WithVariable(periodVariable()).
		WithVariable(labelVariable("channel", "Channel", metrics.CampaignLeads, metrics.LabelChannel)).
		WithVariable(labelVariable("campaign", "Campaign", sel(metrics.CampaignLeads, byChannel), metrics.LabelCampaign)).
		WithVariable(modelVariable()).
		WithPanel(campaignLeadsStat("Leads", funnel.Lead)).
		WithPanel(campaignLeadsStat("Reached MQL", funnel.MQL)).
		WithPanel(spendStat(o)).
		WithPanel(costPerStat(o, "Cost per lead", funnel.Lead)).
		WithPanel(costPerStat(o, "Cost per MQL", funnel.MQL)).
		WithPanel(ctrStat()).
		WithPanel(leadsByChannelTimeseries()).
		WithPanel(spendByChannelTimeseries(o)).
		WithPanel(acceptanceByChannelBarGauge()).
		WithPanel(rejectionReasonsBarGauge()).
		WithPanel(costPerLeadByChannelBarGauge(o)).
		WithPanel(ctrByChannelBarGauge()).
		WithPanel(campaignFunnelTable(o)).
		WithPanel(campaignRejectionsBarGauge()).
		WithPanel(attributedRevenueByChannelBarGauge(o)).
		WithPanel(attributedRevenueByCampaignBarGauge(o)).
		WithPanel(roiByChannelBarGauge()).
		WithPanel(sourcedInfluencedStat(o, "Marketing-sourced revenue", metrics.SourcedRevenue)).
		WithPanel(sourcedInfluencedStat(o, "Marketing-influenced revenue", metrics.InfluencedRevenue)).
		WithPanel(pipelineRoleStat(o, "Marketing-sourced pipeline", metrics.SourcedPipeline)).
		WithPanel(pipelineRoleStat(o, "Marketing-influenced pipeline", metrics.InfluencedPipeline))
}

// campaignLeads is the period's leads of the chosen campaigns that have reached a stage.
func campaignLeads(st funnel.Stage, matchers ...string) string {
	return sumOf(metrics.CampaignLeads, append([]string{stageIs(st)}, matchers...)...)
}

func campaignLeadsStat(title string, st funnel.Stage) *stat.PanelBuilder {
	return defaultStat().Title(title).
		Description(help(metrics.CampaignLeads) + " For the period picked and the chosen channels and campaigns.").
		Unit("none").Decimals(0).
		WithTarget(instant(campaignLeads(st, chosen...), title))
}

func spendStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Spend").
		Description(help(metrics.CampaignSpend) + " For the period picked and the chosen channels and campaigns.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumOf(metrics.CampaignSpend, chosen...), "spend"))
}

// costPer is the one definition of cost per lead (st = lead) and per MQL: the period's campaign
// spend ÷ the period's leads of those campaigns that reached the stage.
func costPer(st funnel.Stage, matchers ...string) string {
	return ratio(sumOf(metrics.CampaignSpend, matchers...), campaignLeads(st, matchers...))
}

func costPerStat(o Options, title string, st funnel.Stage) *stat.PanelBuilder {
	return defaultStat().Title(title).NoValue("no leads yet").
		Description(fmt.Sprintf("Campaign spend ÷ the leads created that reached %s, both of the period picked, for the chosen channels and campaigns.", stageTitle(st))).
		Unit(o.money()).Decimals(2).
		WithTarget(instant(costPer(st, chosen...), title))
}

func ctrStat() *stat.PanelBuilder {
	return defaultStat().Title("Click-through rate").NoValue("no impressions yet").
		Description("Clicks ÷ impressions of the period picked. " + help(metrics.CampaignClicks)).
		Unit("percentunit").Decimals(2).
		WithTarget(instant(ratio(sumOf(metrics.CampaignClicks, chosen...), sumOf(metrics.CampaignImpressions, chosen...)), "CTR"))
}

func leadsByChannelTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Leads per day by channel").
		Description(help(metrics.CampaignLeads) + " Each step: the previous complete day, as of that point in time.").
		Unit("none").Decimals(0).
		WithTarget(query(trendSumBy(metrics.LabelChannel, metrics.CampaignLeads, in(fiscal.Yesterday), stageIs(funnel.Lead), byChannel, byCampaign), "{{channel}}"))
}

func spendByChannelTimeseries(o Options) *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Spend per day by channel").
		Description(help(metrics.CampaignSpend) + " Each step: the previous complete day, as of that point in time.").
		Unit(o.money()).
		WithTarget(query(trendSumBy(metrics.LabelChannel, metrics.CampaignSpend, in(fiscal.Yesterday), byChannel, byCampaign), "{{channel}}"))
}

func acceptanceByChannelBarGauge() *bargauge.PanelBuilder {
	by := func(st funnel.Stage) string {
		return sumBy(metrics.LabelChannel, metrics.CampaignLeads, append([]string{stageIs(st)}, chosen...)...)
	}
	return defaultBarGauge().Title("Sales' verdict: accepted share by channel").NoValue("no MQL yet").
		Description("The lead-quality feedback loop: of the period's leads per channel that reached MQL, the share sales has accepted (reached SQL) by now. " +
			stageText(funnel.SQL)).
		Unit("percentunit").Decimals(0).Min(0).Max(1).
		Thresholds(goal(funnel.StepGoals[funnel.SQL])).
		WithTarget(instant(ratio(by(funnel.SQL), by(funnel.MQL)), "{{channel}}"))
}

func rejectionReasonsBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Why sales rejected leads").NoValue("none rejected").
		Description(help(metrics.CampaignDisqualified) + " For the period picked and the chosen channels and campaigns.").
		Unit("none").Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(%s)", sumBy(metrics.LabelDisqualifiedReason, metrics.CampaignDisqualified, chosen...)), "{{disqualified_reason}}"))
}

func costPerLeadByChannelBarGauge(o Options) *bargauge.PanelBuilder {
	spend := sumBy(metrics.LabelChannel, metrics.CampaignSpend, chosen...)
	leads := sumBy(metrics.LabelChannel, metrics.CampaignLeads, append([]string{stageIs(funnel.Lead)}, chosen...)...)
	return defaultBarGauge().Title("Cost per lead by channel").NoValue("no leads yet").
		Description("Campaign spend ÷ leads created per channel, of the period picked. Channels without campaign spend have none.").
		Unit(o.money()).Decimals(2).
		WithTarget(instant(ratio(spend, leads), "{{channel}}"))
}

func ctrByChannelBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Click-through rate by channel").NoValue("no impressions yet").
		Description("Clicks ÷ impressions per channel, of the period picked.").
		Unit("percentunit").Decimals(2).
		WithTarget(instant(ratio(sumBy(metrics.LabelChannel, metrics.CampaignClicks, chosen...), sumBy(metrics.LabelChannel, metrics.CampaignImpressions, chosen...)), "{{channel}}"))
}

func byCampaignSum(metric string, extra ...string) string {
	return sumBy(metrics.LabelChannel+", "+metrics.LabelCampaign, metric, append(append([]string{}, chosen...), extra...)...)
}

// campaignRows is how many rows the campaign table shows at once: every campaign label value the
// exporter keeps (labels.campaign.max_values, 20 by default) plus "other" and "unknown".
const campaignRows = 22

func campaignFunnelTable(o Options) *table.PanelBuilder {
	// One grid row is 30 px and a table row 36 px; the header and panel title take about two grid
	// rows: every campaign is reachable without scrolling.
	height := uint32(2 + (campaignRows*36+29)/30)
	b := defaultTable().Title("What each campaign produced (leads created in the period, by the stage they reached; spend)").
		Height(height).
		Description(help(metrics.CampaignLeads) + " For the period picked, sorted by spend. Accepted = reached SQL; rejected = disqualified by sales in the period. \"unknown\" holds the leads no campaign touch produced (they have leads but no spend); \"other\" the campaigns beyond labels.campaign.max_values.")
	refs := []string{}
	for _, st := range campaignTableStages {
		ref := string(st)
		refs = append(refs, ref)
		b = b.WithTarget(tableQuery(byCampaignSum(metrics.CampaignLeads, stageIs(st)), ref))
	}
	b = b.WithTarget(tableQuery(byCampaignSum(metrics.CampaignDisqualified), "rejected")).
		WithTarget(tableQuery(byCampaignSum(metrics.CampaignSpend), "spend"))
	spendCol := fmt.Sprintf("spend (%s)", strings.ToUpper(o.Currency))
	rename := map[string]any{"Value #rejected": "rejected by sales", "Value #spend": spendCol}
	for _, r := range refs {
		rename["Value #"+r] = "reached " + stageTitle(funnel.Stage(r))
	}
	rename["Value #lead"] = "leads"
	return b.
		Unit("none").Decimals(0).
		SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName(spendCol).Desc(true)}).
		OverrideByName(spendCol, []dashboard.DynamicConfigValue{{Id: "unit", Value: o.money()}, {Id: "decimals", Value: 0}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true}, "renameByName": rename,
		}})
}

var campaignTableStages = []funnel.Stage{funnel.Lead, funnel.MQL, funnel.SQL, funnel.Opportunity, funnel.Won}

func campaignRejectionsBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Rejected by sales, by campaign and reason").NoValue("none rejected").
		Description(help(metrics.CampaignDisqualified) + " For the period picked.").
		Unit("none").Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(%s)", sumBy(metrics.LabelCampaign+", "+metrics.LabelDisqualifiedReason, metrics.CampaignDisqualified, chosen...)),
			"{{campaign}}: {{disqualified_reason}}"))
}

func attributedRevenueByChannelBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Won revenue attributed by channel ($model)").NoValue("nothing won yet").
		Description(help(metrics.AttributedRevenue) + " Revenue won in the period picked.").
		Unit(o.money()).Decimals(2). // "$4.27M" and "$3.91M", not "$4M" for both
		WithTarget(instant(fmt.Sprintf("sort_desc(%s)", sumBy(metrics.LabelChannel, metrics.AttributedRevenue, picked, byModel)), "{{channel}}"))
}

// namedCampaign keeps real campaigns: "other" (folded beyond the cap), "unknown" and
// "unattributed" are buckets, not campaigns to rank against them.
var namedCampaign = fmt.Sprintf(`%s!~"%s|%s|%s"`, metrics.LabelCampaign, metrics.ValueOther, metrics.ValueUnknown, metrics.ValueUnattributed)

func attributedRevenueByCampaignBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Won revenue attributed by campaign ($model)").NoValue("nothing won yet").
		Description(help(metrics.AttributedRevenue) + " Revenue won in the period picked, for the chosen channels and campaigns: the top 15 named campaigns (the other, unknown and unattributed buckets are left out of the ranking).").
		Unit(o.money()).Decimals(2).
		WithTarget(instant(fmt.Sprintf("sort_desc(topk(15, %s))", sumBy(metrics.LabelCampaign, metrics.AttributedRevenue, append([]string{byModel, namedCampaign}, chosen...)...)), "{{campaign}}"))
}

// roi is (attributed won revenue − spend) ÷ spend by channel, of one period and model: the one
// definition the dashboard and the recording rule share.
func roi(matchers ...string) string {
	revenue := sumBy(metrics.LabelChannel, metrics.AttributedRevenue, append([]string{byModel}, matchers...)...)
	spend := sumBy(metrics.LabelChannel, metrics.CampaignSpend, matchers...)
	return fmt.Sprintf("(%s - %s) / (%s > 0)", revenue, spend, spend)
}

func roiByChannelBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Return on ad spend by channel ($model)").NoValue("no spend yet").
		Description("ROI = (attributed won revenue − spend) ÷ spend per channel, both of the period picked, under the chosen model. 0% breaks even. " + goalText(funnel.GoalROI)).
		Unit("percentunit").Decimals(0).
		// Bars from −100 % (nothing won) on one scale across channels, so they compare.
		Min(-1).
		Thresholds(goal(funnel.GoalROI)).
		WithTarget(instant(roi(picked, byChannel), "{{channel}}"))
}

func sourcedInfluencedStat(o Options, title, metric string) *stat.PanelBuilder {
	return defaultStat().Span(6).Title(title).
		Description(help(metric) + " Won in the period picked. Sourced and influenced overlap: never add them.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumOf(metric, picked), title))
}

func pipelineRoleStat(o Options, title, metric string) *stat.PanelBuilder {
	return defaultStat().Span(6).Title(title).
		Description(help(metric) + " Sourced and influenced overlap: never add them.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumOf(metric), title))
}
