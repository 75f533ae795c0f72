package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
)

// The channel variable filters leads by their source and campaigns by their channel: both use
// the same channel vocabulary.
var (
	bySource  = re(metrics.DimSource, "channel")
	byChannel = re(metrics.LabelChannel, "channel")
)

// Marketing is marketing's dashboard by channel: volume, cost, clicks, and sales' verdict on
// the leads (accepted or rejected, and why).
func Marketing(o Options) *dashboard.DashboardBuilder {
	return base(UIDMarketing, "Tandem — marketing",
		"Marketing's results by channel: leads, MQLs, spend, cost per lead and MQL, clicks and CTR, and sales' acceptance and rejection of the leads with the reasons.").
		Time("now-30d", "now").
		WithVariable(datasourceVariable(false)).
		WithVariable(labelVariable("channel", "Channel", metrics.LeadsCreated, metrics.DimSource)).
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
		WithPanel(ctrByChannelTimeseries())
}

func marketingCountStat(title, metric, description string, matchers ...string) *stat.PanelBuilder {
	return defaultStat().Title(title).
		Description(description + " Over the time range, for the chosen channels.").
		Unit("short").Decimals(0).
		WithTarget(instant(sumIncrease(metric, append(matchers, bySource)...), title))
}

func spendStat(o Options) *stat.PanelBuilder {
	return defaultStat().Title("Spend").
		Description(help(metrics.CampaignSpend) + " Over the time range.").
		Unit(o.money()).Decimals(0).
		WithTarget(instant(sumIncrease(metrics.CampaignSpend, byChannel), "spend"))
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
		WithTarget(instant(ratio(sumIncrease(metrics.CampaignClicks, byChannel), sumIncrease(metrics.CampaignImpressions, byChannel)), "CTR"))
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
