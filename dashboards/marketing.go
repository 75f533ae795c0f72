package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/attribution"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// The channel variable filters leads by their source and campaigns by their channel: both use
// the same channel vocabulary.
var (
	bySource   = re(metrics.DimSource, "channel")
	byChannel  = re(metrics.LabelChannel, "channel")
	byCampaign = re(metrics.LabelCampaign, "campaign")
	byModel    = re(metrics.LabelModel, "model")
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

// Marketing is marketing's dashboard by channel: volume, cost, clicks, and sales' verdict on
// the leads (accepted or rejected, and why).
func Marketing(o Options) *dashboard.DashboardBuilder {
	return base(UIDMarketing, "Tandem — marketing",
		"Marketing's results by channel: leads, MQLs, spend, cost per lead and MQL, clicks and CTR, and sales' acceptance and rejection of the leads with the reasons.").
		Time("now-30d", "now").
		WithVariable(datasourceVariable(false)).
		WithVariable(labelVariable("channel", "Channel", metrics.LeadsCreated, metrics.DimSource)).
		WithVariable(labelVariable("campaign", "Campaign", sel(metrics.CampaignSpend, byChannel), metrics.LabelCampaign)).
		WithVariable(modelVariable()).
		WithPanel(marketingCountStat("Leads", metrics.LeadsCreated, stageText(funnel.Lead))).
		WithPanel(marketingCountStat("MQLs", metrics.FunnelStageEntered, stageText(funnel.MQL), stageIs(funnel.MQL))).
		WithPanel(spendStat(o)).
		WithPanel(costPerStat(o, "Cost per lead", metrics.LeadsCreated)).
		WithPanel(costPerStat(o, "Cost per MQL", metrics.FunnelStageEntered, stageIs(funnel.MQL))).
		WithPanel(ctrStat()).
		WithPanel(leadsByChannelTimeseries()).
		WithPanel(spendByChannelTimeseries(o)).
		WithPanel(acceptanceByChannelBarGauge()).
		WithPanel(rejectionReasonsBarGauge()).
		WithPanel(costPerLeadByChannelBarGauge(o)).
		WithPanel(ctrByChannelTimeseries()).
		WithPanel(campaignFunnelTable()).
		WithPanel(campaignRejectionsBarGauge()).
		WithPanel(attributedRevenueByChannelBarGauge(o)).
		WithPanel(attributedRevenueByCampaignBarGauge(o)).
		WithPanel(roiByChannelBarGauge()).
		WithPanel(sourcedInfluencedStat(o, "Marketing-sourced revenue", metrics.SourcedRevenue)).
		WithPanel(sourcedInfluencedStat(o, "Marketing-influenced revenue", metrics.InfluencedRevenue)).
		WithPanel(pipelineRoleStat(o, "Marketing-sourced pipeline", metrics.SourcedPipeline)).
		WithPanel(pipelineRoleStat(o, "Marketing-influenced pipeline", metrics.InfluencedPipeline))
}

func marketingCountStat(title, metric, description string, matchers ...string) *stat.PanelBuilder {
	return defaultStat().Title(title).
		Description(description + " Over the time range, for the chosen channels.").
		Unit("short").Decimals(0).
		WithTarget(instant(sumIncrease(metric, append(matchers, bySource)...), title))
}

func spendStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Spend").
		Description(help(metrics.CampaignSpend) + " Over the time range, for the chosen channels and campaigns.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumIncrease(metrics.CampaignSpend, byChannel, byCampaign), "spend"))
}

func costPerStat(o Options, title, metric string, matchers ...string) *stat.PanelBuilder {
	return defaultStat().Title(title).
		Description(fmt.Sprintf("Campaign spend ÷ %s, both over the time range, for the chosen channels.", title[len("Cost per "):]+"s")).
		Unit(o.money()).Decimals(2).
		WithTarget(instant(ratio(sumIncrease(metrics.CampaignSpend, byChannel), sumIncrease(metric, append(matchers, bySource)...)), title))
}

func ctrStat() *stat.PanelBuilder {
	return defaultStat().Title("Click-through rate").
		Description("Clicks ÷ impressions over the time range. " + help(metrics.CampaignClicks)).
		Unit("percentunit").Decimals(2).
		WithTarget(instant(ratio(sumIncrease(metrics.CampaignClicks, byChannel, byCampaign), sumIncrease(metrics.CampaignImpressions, byChannel, byCampaign)), "CTR"))
}

func perDay(metric string, by string, matchers ...string) string {
	return fmt.Sprintf("sum by (%s) (increase(%s[1d]))", by, sel(metric, matchers...))
}

func leadsByChannelTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Leads per day by channel").
		Description(stageText(funnel.Lead) + " Each point: the 24 hours up to it.").
		Unit("short").Interval("1h").
		WithTarget(query(perDay(metrics.LeadsCreated, metrics.DimSource, bySource), "{{source}}"))
}

func spendByChannelTimeseries(o Options) *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Spend per day by channel").
		Description(help(metrics.CampaignSpend) + " Each point: the 24 hours up to it.").
		Unit(o.money()).Interval("1h").
		WithTarget(query(perDay(metrics.CampaignSpend, metrics.LabelChannel, byChannel), "{{channel}}"))
}

func acceptanceByChannelBarGauge() *bargauge.PanelBuilder {
	accepted := fmt.Sprintf("sum by (%s) (increase(%s[$__range]))", metrics.DimSource, sel(metrics.FunnelStageEntered, stageIs(funnel.SQL), bySource))
	rejected := fmt.Sprintf("sum by (%s) (increase(%s[$__range]))", metrics.DimSource, sel(metrics.LeadsDisqualified, bySource))
	return defaultBarGauge().Title("Sales' verdict: accepted share by channel").
		Description("The lead-quality feedback loop: leads sales accepted (became SQL) ÷ (accepted + rejected) in the time range, per channel. " +
			stageText(funnel.SQL) + " " + stageText(funnel.Disqualified)).
		Unit("percentunit").Decimals(0).Min(0).Max(1).
		Thresholds(thresholds("red", 0.4, "orange", 0.6, "green")).
		WithTarget(instant(ratio(accepted, accepted+" + "+rejected), "{{source}}"))
}

func rejectionReasonsBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Why sales rejected leads").
		Description(help(metrics.LeadsDisqualified) + " In the time range, for the chosen channels.").
		Unit("short").Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(sum by (%s) (increase(%s[$__range])))", metrics.LabelDisqualifiedReason, sel(metrics.LeadsDisqualified, bySource)), "{{disqualified_reason}}"))
}

func costPerLeadByChannelBarGauge(o Options) *bargauge.PanelBuilder {
	spend := fmt.Sprintf("sum by (%s) (increase(%s[$__range]))", metrics.LabelChannel, sel(metrics.CampaignSpend, byChannel))
	leads := fmt.Sprintf(`sum by (%s) (label_replace(increase(%s[$__range]), "%s", "$1", "%s", "(.*)"))`,
		metrics.LabelChannel, sel(metrics.LeadsCreated, bySource), metrics.LabelChannel, metrics.DimSource)
	return defaultBarGauge().Title("Cost per lead by channel").
		Description("Campaign spend ÷ leads created per channel, over the time range. Channels without campaign spend (organic, referral) have none.").
		Unit(o.money()).Decimals(2).
		WithTarget(instant(ratio(spend, leads), "{{channel}}"))
}

func ctrByChannelTimeseries() *timeseries.PanelBuilder {
	return defaultTimeseries().Title("Click-through rate by channel").
		Description("Clicks ÷ impressions in the 24 hours up to each point.").
		Unit("percentunit").Interval("1h").
		WithTarget(query(ratio(perDay(metrics.CampaignClicks, metrics.LabelChannel, byChannel), perDay(metrics.CampaignImpressions, metrics.LabelChannel, byChannel)), "{{channel}}"))
}

func byCampaignSum(metric string, extra ...string) string {
	return fmt.Sprintf("sum by (%s, %s) (increase(%s[$__range]))", metrics.LabelChannel, metrics.LabelCampaign,
		sel(metric, append([]string{byChannel, byCampaign}, extra...)...))
}

func campaignFunnelTable() *table.PanelBuilder {
	b := defaultTable().Title("What each campaign produced").
		Description(help(metrics.CampaignLeads) + " Over the time range. Accepted = became SQL; rejected = disqualified by sales.")
	refs := []string{}
	for _, st := range campaignTableStages {
		ref := string(st)
		refs = append(refs, ref)
		b = b.WithTarget(tableQuery(byCampaignSum(metrics.CampaignLeads, stageIs(st)), ref))
	}
	b = b.WithTarget(tableQuery(byCampaignSum(metrics.CampaignDisqualified), "rejected")).
		WithTarget(tableQuery(byCampaignSum(metrics.CampaignSpend), "spend"))
	rename := map[string]any{"Value #rejected": "rejected by sales", "Value #spend": "spend"}
	for _, r := range refs {
		rename["Value #"+r] = stageTitle(funnel.Stage(r)) + "s"
	}
	return b.
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true}, "renameByName": rename,
		}})
}

var campaignTableStages = []funnel.Stage{funnel.Lead, funnel.MQL, funnel.SQL, funnel.Opportunity, funnel.Won}

func campaignRejectionsBarGauge() *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Rejected by sales, by campaign and reason").
		Description(help(metrics.CampaignDisqualified) + " Over the time range.").
		Unit("short").Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(sum by (%s, %s) (increase(%s[$__range])))", metrics.LabelCampaign, metrics.LabelDisqualifiedReason,
			sel(metrics.CampaignDisqualified, byChannel, byCampaign)), "{{campaign}}: {{disqualified_reason}}"))
}

func attributedRevenueByChannelBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Won revenue attributed by channel ($model)").
		Description(help(metrics.AttributedRevenue) + " Revenue won in the time range.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("sort_desc(sum by (%s) (increase(%s[$__range])))", metrics.LabelChannel, sel(metrics.AttributedRevenue, byModel)), "{{channel}}"))
}

func attributedRevenueByCampaignBarGauge(o Options) *bargauge.PanelBuilder {
	return defaultBarGauge().Title("Won revenue attributed by campaign ($model)").
		Description(help(metrics.AttributedRevenue) + " Revenue won in the time range, for the chosen channels and campaigns.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("topk(15, sum by (%s) (increase(%s[$__range])))", metrics.LabelCampaign, sel(metrics.AttributedRevenue, byModel, byChannel, byCampaign)), "{{campaign}}"))
}

func roiByChannelBarGauge() *bargauge.PanelBuilder {
	revenue := fmt.Sprintf("sum by (%s) (increase(%s[$__range]))", metrics.LabelChannel, sel(metrics.AttributedRevenue, byModel, byChannel))
	spend := fmt.Sprintf("sum by (%s) (increase(%s[$__range]))", metrics.LabelChannel, sel(metrics.CampaignSpend, byChannel))
	return defaultBarGauge().Title("Return on ad spend by channel ($model)").
		Description("ROI = (attributed won revenue − spend) ÷ spend per channel over the time range, under the chosen model. 0% breaks even.").
		Unit("percentunit").Decimals(0).
		Thresholds(thresholds("red", 0.0, "orange", 1.0, "green")).
		WithTarget(instant(fmt.Sprintf("(%s - %s) / %s", revenue, spend, spend), "{{channel}}"))
}

func sourcedInfluencedStat(o Options, title, metric string) *stat.PanelBuilder {
	return defaultStat().Span(6).Title(title).
		Description(help(metric) + " Won in the time range. Sourced and influenced overlap: never add them.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumIncrease(metric), title))
}

func pipelineRoleStat(o Options, title, metric string) *stat.PanelBuilder {
	return defaultStat().Span(6).Title(title).
		Description(help(metric) + " Sourced and influenced overlap: never add them.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(fmt.Sprintf("sum(%s)", sel(metric)), title))
}
