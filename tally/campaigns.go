package tally

import (
	"strings"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/source"
)

// Data-quality checks found while tallying the campaign database.
const (
	CheckStatUnknownCampaign       = "stat_unknown_campaign"       // daily stats of a campaign that does not exist: skipped
	CheckStatNegative              = "stat_negative"               // negative spend, impressions or clicks: skipped
	CheckTouchpointUnknownCampaign = "touchpoint_unknown_campaign" // touchpoint of a campaign id that does not exist: channel "unknown"
)

type campaign struct {
	channel string
	name    string
	rate    money.Rate
	hasRate bool
}

// TouchIndex is the campaign database's touches for a batch CRM tally (Touches): each lead's
// marketing touches in time order and each campaign's channel and published name. The CRM tally
// joins it with deals for attribution and with leads for campaign results.
type TouchIndex struct {
	Campaigns map[int64]CampaignRef
	ByLead    map[int64][]Touch // in time order (sortTouches)
}

// Of returns a lead's touches in time order.
func (x *TouchIndex) Of(lead int64) []Touch { return x.ByLead[lead] }

// Touch is one marketing touch of a lead.
type Touch struct {
	At       int64 // Unix nanoseconds: 16 bytes fewer than a time.Time, per touch of the CRM
	ID       int64
	Campaign int64
}

// Time is when the touch occurred.
func (t Touch) Time() time.Time { return time.Unix(0, t.At) }

// CampaignRef is a campaign's labels.
type CampaignRef struct{ Channel, Label string }

// Ref returns the labels of a touch's campaign; a touch without a known campaign is "unknown".
func (x *TouchIndex) Ref(campaign int64) CampaignRef { return refOf(x.Campaigns, campaign) }

// Known reports whether a touch belongs to a known campaign (a marketing touch).
func (x *TouchIndex) Known(campaign int64) bool { return knownIn(x.Campaigns, campaign) }

func refOf(refs map[int64]CampaignRef, campaign int64) CampaignRef {
	if r, ok := refs[campaign]; ok {
		return r
	}
	return CampaignRef{metrics.ValueUnknown, metrics.ValueUnknown}
}

func knownIn(refs map[int64]CampaignRef, campaign int64) bool {
	_, ok := refs[campaign]
	return ok
}

type statKey struct{ channel, name string }

// statSum is one campaign label set's sums in one window.
type statSum struct {
	statKey
	win int
}

type statAgg struct{ spend, impressions, clicks, rows int64 }

// touchKey counts touches by the windows they fall in together (their mask), spread over the
// windows once finishRows publishes them: a touch is one lookup, not one a window (13M lookups
// of a string key at a million leads' cold start, instead of 2.6M).
type touchKey struct {
	channel, kind string
	mask          fiscal.Mask
}

// touchRef is a touchKey named by where its strings' bytes are (strKey: the decoder and the
// stores intern repeated values; equal strings elsewhere only make another key, added up by
// content when flushed).
type touchRef struct {
	channel, kind strKey
	mask          fiscal.Mask
}

func (r *touchRef) hash() uint64 { return mix(mix(r.channel.hash(), r.kind.hash()), uint64(r.mask)) }

// Campaigns tallies one poll of the campaign database at one instant: campaigns first, then
// stats and touchpoints, then Finish.
type Campaigns struct {
	cfg       *config.Config
	folder    *Folder
	spans     fiscal.Spans
	snap      *Snapshot
	seen      seen
	campaigns map[int64]campaign
	sums      map[statSum]*statAgg
	spend     map[statKey]int64 // all days: which campaigns keep their name
	touches   map[touchKey]int64
	statKeys  map[[2]int64]bool
	touchIDs  idSet
	seenKinds map[string]int // seen's counts of touch kinds (touch)
	// recent counts touches by where their channel's and kind's bytes are and their mask, in
	// front of touches and seenKinds (touch): a cold start's 2.6M touchpoints share a few
	// hundred of these, and a touch cost two string-keyed map updates (0.35 s of the exporter's
	// CPU at a million leads). Its counts go to the maps when their slot is taken by another
	// key, and all of them before the maps are read (flushTouches).
	recent slots[touchRef, int64]
	// unique is set when the rows come from a store keyed by id (the live tally's mirror):
	// touchpoints need no duplicate check then (a map entry per touch, millions of them).
	unique bool
}

// NewCampaigns starts a tally at now.
func NewCampaigns(cfg *config.Config, folder *Folder, now time.Time) *Campaigns {
	return &Campaigns{
		cfg: cfg, folder: folder, spans: cfg.Calendar.Spans(now), snap: newSnapshot(), seen: seen{}, campaigns: map[int64]campaign{},
		sums: map[statSum]*statAgg{}, spend: map[statKey]int64{}, touches: map[touchKey]int64{},
		statKeys: map[[2]int64]bool{},
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
	c.campaigns[x.ID] = campaign{channel: ch, name: clean(x.Name), rate: rate, hasRate: ok}
	c.seen.note(metrics.LabelChannel, ch)
}

// Stat adds one campaign-day: its spend, impressions and clicks count in the windows its day
// falls in.
func (c *Campaigns) Stat(x source.CampaignStat) {
	k := StatKey(x)
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
	if x.Spend < 0 || x.Impressions < 0 || x.Clicks < 0 {
		// A refund or a correction written as a negative day would make a period's spend or
		// clicks fall below what was really spent; it is reported, not summed.
		c.snap.problem(source.QueryCampaignStats, CheckStatNegative)
		return
	}
	sk := statKey{cp.channel, cp.name}
	spend := int64(cp.rate.Convert(x.Spend))
	c.spend[sk] += spend
	c.spans.OfDate(x.Day).Each(func(i int) {
		a := c.sums[statSum{sk, i}]
		if a == nil {
			a = &statAgg{}
			c.sums[statSum{sk, i}] = a
		}
		a.spend += spend
		a.impressions += x.Impressions
		a.clicks += x.Clicks
		a.rows++
	})
}

// Touchpoint adds a marketing touch, in the windows it occurred in.
func (c *Campaigns) Touchpoint(x source.Touchpoint) {
	if !c.unique {
		if !c.touchIDs.add(x.ID) {
			c.snap.problem(source.QueryTouchpoints, CheckDuplicateID)
			return
		}
	}
	c.touch(x.OccurredAt, x.CampaignID, strings.ToLower(clean(x.Kind)))
}

// leadTouches adds the touches kept of a lead (LiveCampaigns), as Touchpoint adds its rows.
func (c *Campaigns) leadTouches(lt leadTouches) {
	for range lt.dups {
		c.snap.problem(source.QueryTouchpoints, CheckDuplicateID)
	}
	for _, t := range lt.touches {
		c.touch(t.at, t.campaign, t.kind)
	}
}

// touch adds one touch of a campaign (0: none) and a kind (cleaned), in the windows of its time.
func (c *Campaigns) touch(at time.Time, campaign int64, kind string) {
	ch := metrics.ValueUnknown // a touch with no campaign (organic, direct) has no channel
	if cp, ok := c.campaigns[campaign]; ok {
		ch = cp.channel
	} else if campaign != 0 {
		c.snap.problem(source.QueryTouchpoints, CheckTouchpointUnknownCampaign)
	}
	k := touchRef{channel: keyOf(ch), kind: keyOf(kind), mask: c.spans.Of(at)}
	if c.recent.s == nil {
		c.recent = newSlots[touchRef, int64](touchSlots)
	}
	sl := c.recent.at(k.hash())
	if sl.ok && sl.k == k {
		sl.v++
		return
	}
	if sl.ok {
		c.addTouches(sl.k, sl.v)
	}
	*sl = slot[touchRef, int64]{k: k, v: 1, ok: true}
}

// touchSlots is the bits of the slots of Campaigns.recent.
const touchSlots = 9

// addTouches adds n touches of k to the maps finishRows reads.
func (c *Campaigns) addTouches(k touchRef, n int64) {
	kind := k.kind.String()
	if k.mask != 0 {
		c.touches[touchKey{k.channel.String(), kind, k.mask}] += n
	}
	if c.seenKinds == nil {
		c.seenKinds = c.seen.counts("touch_kind") // looked up once (seen.counts)
	}
	c.seenKinds[kind] += int(n)
}

// flushTouches adds the counts still in recent to the maps.
func (c *Campaigns) flushTouches() {
	for i := range c.recent.s {
		if sl := &c.recent.s[i]; sl.ok {
			c.addTouches(sl.k, sl.v)
			*sl = slot[touchRef, int64]{}
		}
	}
}

// AsTouch is what the CRM side needs of a touchpoint.
func AsTouch(x source.Touchpoint) Touch {
	return Touch{At: x.OccurredAt.UnixNano(), ID: x.ID, Campaign: x.CampaignID}
}

// Finish computes the snapshot; Refs then gives the campaigns' labels for the CRM side.
func (c *Campaigns) Finish() *Snapshot {
	s := c.finishRows()
	c.globals(s)
	s.publish()
	return s
}

// finishRows adds up what the rows contribute: each stat and touchpoint row on its own.
func (c *Campaigns) finishRows() *Snapshot {
	c.flushTouches()
	c.folder.Admit(metrics.LabelChannel, c.seen[metrics.LabelChannel])
	c.folder.Admit(metrics.LabelKind, c.seen["touch_kind"])
	// The campaigns that spend most keep their names.
	bySpend := map[string]int{}
	for k, v := range c.spend {
		bySpend[k.name] += int(v)
	}
	for _, cp := range c.campaigns {
		if _, ok := bySpend[cp.name]; !ok {
			bySpend[cp.name] = 0
		}
	}
	c.folder.Admit(metrics.LabelCampaign, bySpend)
	s := c.snap
	ch := func(v string) string { return c.folder.Value(metrics.LabelChannel, v) }
	name := func(v string) string { return c.folder.Value(metrics.LabelCampaign, v) }
	for k, a := range c.sums {
		w := string(c.spans[k.win].Window)
		s.addRows(metrics.CampaignSpend, a.spend, a.rows, w, ch(k.channel), name(k.name))
		s.addRows(metrics.CampaignImpressions, a.impressions, a.rows, w, ch(k.channel), name(k.name))
		s.addRows(metrics.CampaignClicks, a.clicks, a.rows, w, ch(k.channel), name(k.name))
	}
	for k, v := range c.touches {
		channel, kind := ch(k.channel), c.folder.Value(metrics.LabelKind, k.kind)
		k.mask.Each(func(i int) {
			s.addRows(metrics.MarketingTouchpoints, v, v, string(c.spans[i].Window), channel, kind)
		})
	}
	return s
}

// globals adds the families that must exist even when empty.
func (c *Campaigns) globals(s *Snapshot) {
	for _, d := range metrics.Campaign {
		s.family(d.Name)
	}
}

// Refs returns every campaign's published labels (after admission in Finish).
func (c *Campaigns) Refs() map[int64]CampaignRef {
	out := make(map[int64]CampaignRef, len(c.campaigns))
	for id, cp := range c.campaigns {
		out[id] = CampaignRef{Channel: c.folder.Value(metrics.LabelChannel, cp.channel), Label: c.folder.Value(metrics.LabelCampaign, cp.name)}
	}
	return out
}
