package tally

import (
	"strings"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/source"
)

// Data-quality checks found while tallying the campaign database.
const (
	CheckStatUnknownCampaign       = "stat_unknown_campaign"       // daily stats of a campaign that does not exist: skipped
	CheckTouchpointUnknownCampaign = "touchpoint_unknown_campaign" // touchpoint of a campaign id that does not exist: channel "unknown"
)

type campaign struct {
	channel string
	rate    money.Rate
	hasRate bool
}

// Campaigns tallies one poll of the campaign database: campaigns first, then stats and
// touchpoints, then Finish.
type Campaigns struct {
	cfg       *config.Config
	folder    *Folder
	snap      *Snapshot
	seen      seen
	campaigns map[int64]campaign
	spend     map[string]int64
	impr      map[string]int64
	clicks    map[string]int64
	touches   map[[2]string]int64
	statKeys  map[[2]int64]bool
	touchIDs  map[int64]bool
}

// NewCampaigns starts a tally.
func NewCampaigns(cfg *config.Config, folder *Folder) *Campaigns {
	return &Campaigns{
		cfg: cfg, folder: folder, snap: newSnapshot(), seen: seen{}, campaigns: map[int64]campaign{},
		spend: map[string]int64{}, impr: map[string]int64{}, clicks: map[string]int64{}, touches: map[[2]string]int64{},
		statKeys: map[[2]int64]bool{}, touchIDs: map[int64]bool{},
	}
}

// Skipped records rows the decoder could not use.
func (c *Campaigns) Skipped(query string, r source.Result) {
	for check, n := range r.Skipped {
		c.snap.Problems[Problem{query, check}] += n
	}
}

// Campaign adds a campaign.
func (c *Campaigns) Campaign(x source.Campaign) {
	if _, dup := c.campaigns[x.ID]; dup {
		c.snap.problem(source.QueryCampaigns, CheckDuplicateID)
		return
	}
	rate, ok := c.cfg.Rate(x.Currency)
	if !ok {
		c.snap.problem(source.QueryCampaigns, CheckCurrencyWithoutRate)
	}
	ch := strings.ToLower(clean(x.Channel))
	c.campaigns[x.ID] = campaign{channel: ch, rate: rate, hasRate: ok}
	c.seen.note(metrics.LabelChannel, ch)
}

// Stat adds one campaign-day.
func (c *Campaigns) Stat(x source.CampaignStat) {
	k := [2]int64{x.CampaignID, x.Day.Unix()}
	if c.statKeys[k] {
		c.snap.problem(source.QueryCampaignStats, CheckDuplicateID)
		return
	}
	c.statKeys[k] = true
	cp, ok := c.campaigns[x.CampaignID]
	if !ok {
		c.snap.problem(source.QueryCampaignStats, CheckStatUnknownCampaign)
		return
	}
	if !cp.hasRate {
		c.snap.problem(source.QueryCampaignStats, CheckCurrencyWithoutRate)
		return
	}
	c.spend[cp.channel] += int64(cp.rate.Convert(x.Spend))
	c.impr[cp.channel] += x.Impressions
	c.clicks[cp.channel] += x.Clicks
}

// Touchpoint adds a marketing touch.
func (c *Campaigns) Touchpoint(x source.Touchpoint) {
	if c.touchIDs[x.ID] {
		c.snap.problem(source.QueryTouchpoints, CheckDuplicateID)
		return
	}
	c.touchIDs[x.ID] = true
	ch := metrics.ValueUnknown // a touch with no campaign (organic, direct) has no channel
	if cp, ok := c.campaigns[x.CampaignID]; ok {
		ch = cp.channel
	} else if x.CampaignID != 0 {
		c.snap.problem(source.QueryTouchpoints, CheckTouchpointUnknownCampaign)
	}
	kind := strings.ToLower(clean(x.Kind))
	c.touches[[2]string{ch, kind}]++
	c.seen.note("touch_kind", kind)
}

// Finish computes the snapshot.
func (c *Campaigns) Finish() *Snapshot {
	c.folder.Admit(metrics.LabelChannel, c.seen[metrics.LabelChannel])
	c.folder.Admit(metrics.LabelKind, c.seen["touch_kind"])
	s := c.snap
	ch := func(v string) string { return c.folder.Value(metrics.LabelChannel, v) }
	for k, v := range c.spend {
		s.add(metrics.CampaignSpend, v, ch(k))
	}
	for k, v := range c.impr {
		s.add(metrics.CampaignImpressions, v, ch(k))
	}
	for k, v := range c.clicks {
		s.add(metrics.CampaignClicks, v, ch(k))
	}
	for k, v := range c.touches {
		s.add(metrics.MarketingTouchpoints, v, ch(k[0]), c.folder.Value(metrics.LabelKind, k[1]))
	}
	for _, d := range metrics.Campaign {
		s.family(d.Name)
	}
	return s
}
