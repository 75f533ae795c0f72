package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Table is a reference-schema table and the columns the generator fills, in row order.
type Table struct {
	Name    string
	Columns []string
}

// The tables the generator writes.
var (
	Owners        = Table{"owners", []string{"id", "name", "email", "sales_team", "region", "is_active"}}
	Leads         = Table{"leads", []string{"id", "created_at", "updated_at", "email", "source", "region", "segment", "owner_id", "status", "mql_at", "sql_at", "disqualified_at", "disqualified_reason"}}
	Activities    = Table{"sales_activities", []string{"id", "lead_id", "owner_id", "kind", "occurred_at", "updated_at"}}
	Opportunities = Table{"opportunities", []string{"id", "lead_id", "amount", "currency", "stage_name", "created_at", "expected_close_date", "closed_at", "is_closed", "is_won", "updated_at"}}
	Campaigns     = Table{"campaigns", []string{"id", "name", "channel", "start_date", "end_date", "budget", "currency", "updated_at"}}
	CampaignStats = Table{"campaign_daily_stats", []string{"campaign_id", "day", "spend", "impressions", "clicks", "updated_at"}}
	Touchpoints   = Table{"marketing_touchpoints", []string{"id", "lead_id", "campaign_id", "kind", "occurred_at", "updated_at"}}
)

// Sink receives generated rows.
type Sink interface {
	Add(t Table, row ...any) error
}

// Options shape the generated data.
type Options struct {
	Seed  uint64
	Leads int
	// Now is the generator's clock: every row is dated relative to it, and the same seed and Now
	// give the same rows whatever the wall clock says. Required.
	Now   time.Time
	Days  int  // how far back leads go; default 400, so a full fiscal year has data
	Dirty bool // add the few dirty rows the data-quality checks must find
	// Volume knobs, for benchmarks: when set above what the realistic model yields (about 1.5
	// activities, 0.14 opportunities and 2.6 touchpoints per lead), each lead gets extra rows
	// until the totals reach the rate: notes after the lead's last activity, and expansion deals
	// on leads that reached SQL.
	ActivitiesPerLead, OpportunitiesPerLead float64
}

// Stats counts what was generated.
type Stats struct {
	Owners, Leads, Activities, Opportunities, Campaigns, CampaignDays, Touchpoints int
}

// Rates are the conversion rates the demo data needs (its deals are in USD, EUR and GBP; one
// dirty deal is in JPY, which has no rate on purpose).
var Rates = map[string]string{"EUR": "1.08", "GBP": "1.27"}

type campaignInfo struct {
	id         int64
	channel    int
	start, end time.Time
}

type generator struct {
	opt              Options
	r                *rand.Rand
	crm, camp        Sink
	stats            Stats
	nextAct, nextOpp int64
	nextTouch        int64
	campaigns        []campaignInfo
	byChannel        map[int][]int
	ownersByTeam     map[int][]int64
	start            time.Time
}

// Generate writes owners, campaigns with daily stats, and opts.Leads leads with their
// activities, opportunities and touchpoints. progress is called every 1,000 leads.
func Generate(opt Options, crm, camp Sink, progress func(done int)) (Stats, error) {
	if opt.Days <= 0 {
		opt.Days = 400
	}
	if opt.Now.IsZero() {
		return Stats{}, fmt.Errorf("demo: Options.Now is required (the generator's clock)")
	}
	opt.Now = opt.Now.UTC().Truncate(time.Second)
	g := &generator{
		opt: opt, r: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), crm: crm, camp: camp,
		nextAct: 1, nextOpp: 1, nextTouch: 1, byChannel: map[int][]int{}, ownersByTeam: map[int][]int64{},
		start: opt.Now.Add(-time.Duration(opt.Days) * 24 * time.Hour),
	}
	if err := g.owners(); err != nil {
		return g.stats, err
	}
	if err := g.campaignRows(); err != nil {
		return g.stats, err
	}
	span := opt.Now.Sub(g.start)
	queueFrom := opt.Leads - len(queue) + 1
	if opt.Leads < 10*len(queue) {
		queueFrom = opt.Leads + 1 // too few leads for a queue of their own
	}
	for i := 1; i <= opt.Leads; i++ {
		if i >= queueFrom {
			if err := g.queued(int64(i), queue[i-queueFrom]); err != nil {
				return g.stats, err
			}
			g.progress(progress, i)
			continue
		}
		// Spread creation over the window, growing a little towards now.
		frac := (float64(i-1) + g.r.Float64()) / float64(opt.Leads)
		frac = 1 - (1-frac)*(1-frac*0.15)
		created := g.start.Add(time.Duration(frac * float64(span))).Truncate(time.Second)
		if created.After(opt.Now) {
			created = opt.Now
		}
		if err := g.lead(int64(i), created); err != nil {
			return g.stats, err
		}
		g.progress(progress, i)
	}
	if opt.Dirty && opt.Leads > 0 {
		if err := g.dirty(); err != nil {
			return g.stats, err
		}
	}
	return g.stats, nil
}

func (g *generator) progress(progress func(int), i int) {
	if progress != nil && (i%1000 == 0 || i == g.opt.Leads) {
		progress(i)
	}
}

// queue is the follow-up queue the demo always has at its "now", whatever the instant: MQLs
// that arrived this long ago and have had no sales touch yet. The first two are still within a
// one-hour SLA, the next ones past it, the last one past the 30-day waiting_max_age (abandoned).
// The realistic model alone gives such leads only by chance near "now", and a wall or an SLA
// dashboard must never depend on chance.
var queue = []time.Duration{
	5 * time.Minute, 25 * time.Minute,
	2 * time.Hour, 7 * time.Hour, 20 * time.Hour, 3 * 24 * time.Hour,
	45 * 24 * time.Hour,
}

// queued writes one lead of the queue: it filled a form, qualified as MQL a minute later and
// waits for its first touch, owned by a rep of its region's inbound team.
func (g *generator) queued(id int64, ago time.Duration) error {
	mql := g.opt.Now.Add(-ago)
	created := mql.Add(-time.Minute)
	ci := int(id) % len(channels)
	if channels[ci].name == "outbound" {
		ci = 0
	}
	ri := int(id) % len(regions)
	team := 0
	for ti, t := range teams {
		if t.region == regions[ri].name {
			team = ti
			break
		}
	}
	owner := g.ownersByTeam[team][int(id)%len(g.ownersByTeam[team])]
	// Salesforce's default status for an MQL nobody has called yet; the simulator, which works
	// "MQL" leads, leaves these waiting.
	status := "MQL"
	if ago > time.Hour {
		status = "Open - Not Contacted"
	}
	if err := g.crm.Add(Leads, id, created, mql, fmt.Sprintf("lead%d@example.org", id), channels[ci].name, regions[ri].name,
		segments[int(id)%2].name, owner, status, mql, nil, nil, nil); err != nil {
		return err
	}
	g.stats.Leads++
	return g.touches(id, ci, created, time.Time{}, time.Time{})
}

func (g *generator) owners() error {
	id := int64(1)
	for ti, t := range teams {
		for k := 0; k < 4; k++ {
			first := firstNames[g.r.IntN(len(firstNames))]
			last := lastNames[g.r.IntN(len(lastNames))]
			name := first + " " + last
			email := fmt.Sprintf("%s.%s%d@example.com", first, last, id)
			if err := g.crm.Add(Owners, id, name, email, t.name, t.region, true); err != nil {
				return err
			}
			g.ownersByTeam[ti] = append(g.ownersByTeam[ti], id)
			g.stats.Owners++
			id++
		}
	}
	return nil
}

func (g *generator) campaignRows() error {
	id := int64(1)
	// Campaigns run on whole days counted back from today, so that how many days each has run
	// does not depend on the time of day "now" falls at.
	today := g.opt.Now.Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -g.opt.Days)
	for ci, ch := range channels {
		if ch.name == "organic" || ch.name == "referral" || ch.name == "outbound" {
			continue // no paid campaigns; their leads still touch content and e-mail campaigns
		}
		for k := 0; k < 5; k++ {
			start := first.AddDate(0, 0, int(g.r.Float64()*float64(g.opt.Days)*0.8))
			end := start.AddDate(0, 0, 60+g.r.IntN(160))
			if k == 0 { // an always-on campaign per channel
				start, end = first, today.AddDate(0, 0, 90)
			}
			currency := "USD"
			if g.r.IntN(4) == 0 {
				currency = "EUR"
			}
			budget := float64(5000 + g.r.IntN(60000))
			name := fmt.Sprintf("%s-%s-%d", ch.name, []string{"always-on", "launch", "retarget", "brand", "promo"}[k], id)
			if err := g.camp.Add(Campaigns, id, name, ch.name, start, end, formatCents(int64(budget*100)), currency, g.opt.Now); err != nil {
				return err
			}
			g.stats.Campaigns++
			g.campaigns = append(g.campaigns, campaignInfo{id, ci, start, end})
			g.byChannel[ci] = append(g.byChannel[ci], len(g.campaigns)-1)
			days := int(end.Sub(start).Hours() / 24)
			ctr := 0.005 + g.r.Float64()*0.03
			// The days a campaign has run depend on the time of day "now" falls at; its own
			// random stream keeps every other row the same whatever that is.
			dr := rand.New(rand.NewPCG(g.opt.Seed, uint64(id)))
			for d := start; d.Before(end) && !d.After(today); d = d.AddDate(0, 0, 1) {
				spend := int64(budget * 100 / float64(days) * (0.6 + dr.Float64()*0.8))
				impr := int64(800 + dr.IntN(20000))
				clicks := int64(float64(impr) * ctr * (0.7 + dr.Float64()*0.6))
				if err := g.camp.Add(CampaignStats, id, d, formatCents(spend), impr, clicks, g.opt.Now); err != nil {
					return err
				}
				g.stats.CampaignDays++
			}
			id++
		}
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (g *generator) lead(id int64, created time.Time) error {
	r, now := g.r, g.opt.Now
	ci := pick(r, channels, func(c channel) float64 { return c.weight })
	ch := channels[ci]
	ri := pick(r, regions, func(x struct {
		name     string
		weight   float64
		currency string
	}) float64 {
		return x.weight
	})
	si := pick(r, segments, func(x struct {
		name     string
		weight   float64
		min, max float64
	}) float64 {
		return x.weight
	})
	region := regions[ri].name
	// Route to the region's team: enterprise deals to the enterprise team where there is one.
	team := -1
	for ti, t := range teams {
		if t.region == region && (team < 0 || (segments[si].name == "enterprise" && strings.HasSuffix(t.name, "enterprise"))) {
			team = ti
		}
	}
	var owner int64
	if r.IntN(25) != 0 { // 4% wait unassigned
		os := g.ownersByTeam[team]
		owner = os[r.IntN(len(os))]
	}
	updated := created

	var mql, sqlAt, disq, firstTouch time.Time
	reason := ""
	if r.Float64() < ch.mql {
		mql = created.Add(logNormal(r, 20*time.Minute, 2)).Truncate(time.Second)
		if mql.After(now) {
			mql = time.Time{}
		}
	}
	var acts []time.Time
	if !mql.IsZero() {
		if mql.Sub(created) > time.Hour && r.IntN(10) == 0 {
			acts = append(acts, created.Add(mql.Sub(created)/2)) // touched before it qualified
		}
		// Response time: a mix of fast reps, same-day reps, slow ones and never.
		var latency time.Duration
		x := r.Float64()
		if team%2 == 1 { // enterprise teams are slower
			x = x*0.8 + 0.2
		}
		switch {
		case x < 0.45:
			latency = logNormal(r, 18*time.Minute, 0.8)
		case x < 0.75:
			latency = logNormal(r, 3*time.Hour, 1)
		case x < 0.92:
			latency = logNormal(r, 30*time.Hour, 0.8)
		default:
			latency = -1
		}
		if latency >= 0 {
			t := mql.Add(latency).Truncate(time.Second)
			if !t.After(now) {
				firstTouch = t
				acts = append(acts, t)
				for k, n := 0, r.IntN(5); k < n; k++ {
					t = t.Add(logNormal(r, 2*24*time.Hour, 0.8)).Truncate(time.Second)
					if t.After(now) {
						break
					}
					acts = append(acts, t)
				}
			}
		}
		if !firstTouch.IsZero() {
			decision := firstTouch.Add(logNormal(r, 3*24*time.Hour, 0.7)).Truncate(time.Second)
			if !decision.After(now) {
				if r.Float64() < ch.sql {
					sqlAt = decision
				} else {
					disq = decision
					reason = disqualReasons[pick(r, disqualReasons, func(x struct {
						name   string
						weight float64
					}) float64 {
						return x.weight
					})].name
				}
			}
		} else if now.Sub(mql) > 21*24*time.Hour && r.IntN(2) == 0 {
			disq, reason = mql.Add(21*24*time.Hour), "no response"
		}
	} else if r.IntN(7) == 0 {
		d := created.Add(logNormal(r, 10*24*time.Hour, 0.8)).Truncate(time.Second)
		if !d.After(now) {
			disq = d
			reason = []string{"student or job seeker", "bad contact data", "duplicate"}[r.IntN(3)]
		}
	}

	// Opportunity.
	var oppCreated, closeAt time.Time
	won, closed := false, false
	if !sqlAt.IsZero() && r.Float64() < ch.opp {
		oppCreated = sqlAt.Add(logNormal(r, 5*24*time.Hour, 0.6)).Truncate(time.Second)
		if oppCreated.After(now) {
			oppCreated = time.Time{}
		} else {
			cycle := logNormal(r, time.Duration(30+15*si)*24*time.Hour, 0.5)
			closeAt = oppCreated.Add(cycle).Truncate(time.Second)
			if !closeAt.After(now) {
				closed = true
				won = r.Float64() < ch.win/(ch.win+(1-ch.win)*0.6)
			}
		}
	}

	status := "New"
	switch {
	case !disq.IsZero():
		status = "Disqualified"
	case !oppCreated.IsZero():
		status = "Converted"
	case !sqlAt.IsZero():
		status = "SQL"
	case !firstTouch.IsZero():
		status = "Working"
	case !mql.IsZero():
		status = "MQL"
	}
	touches := len(acts)
	acts = g.moreActivities(acts, created)
	for _, t := range []time.Time{mql, sqlAt, disq, oppCreated} {
		updated = later(updated, t)
	}
	if len(acts) > 0 {
		updated = later(updated, acts[len(acts)-1])
	}
	var src any = ch.name
	if g.opt.Dirty && r.IntN(200) == 0 {
		src = nil // a NULL source, as synced CRMs have
	}
	var ownerCol any
	if owner != 0 {
		ownerCol = owner
	}
	email := fmt.Sprintf("lead%d@example.org", id)
	if err := g.crm.Add(Leads, id, created, updated, email, src, region, segments[si].name, ownerCol, status,
		nullTime(mql), nullTime(sqlAt), nullTime(disq), nullString(reason)); err != nil {
		return err
	}
	g.stats.Leads++
	for i, t := range acts {
		kind := []string{"call", "email", "call", "meeting"}[r.IntN(4)]
		if i == 0 && r.IntN(3) == 0 {
			kind = "email"
		}
		if i >= touches {
			kind = "note" // volume knob: logged, but not a follow-up touch (the SLA numbers stay realistic)
		}
		if err := g.crm.Add(Activities, g.nextAct, id, ownerCol, kind, t, t); err != nil {
			return err
		}
		g.nextAct++
		g.stats.Activities++
	}
	if !oppCreated.IsZero() {
		currency := regions[ri].currency
		if currency == "EUR" && r.IntN(3) == 0 {
			currency = "GBP"
		}
		stage, closedAt := openStages[r.IntN(len(openStages))], any(nil)
		if closed {
			stage, closedAt = "Closed Lost", closeAt
			if won {
				stage = "Closed Won"
			}
		}
		expected := time.Date(closeAt.Year(), closeAt.Month(), closeAt.Day(), 0, 0, 0, 0, time.UTC)
		updated := oppCreated // open deals were last touched when created; closed ones when closed
		if closed {
			updated = closeAt
		}
		if err := g.crm.Add(Opportunities, g.nextOpp, id, amountFor(r, si), currency, stage, oppCreated, expected, closedAt,
			closed, won, updated); err != nil {
			return err
		}
		g.nextOpp++
		g.stats.Opportunities++
	}
	if err := g.moreOpportunities(id, ri, si, sqlAt); err != nil {
		return err
	}
	return g.touches(id, ci, created, oppCreated, closeAt)
}

// owed is how many rows a volume knob still asks for after the leads generated so far (this one
// included).
func (g *generator) owed(perLead float64, have int) int {
	return int(perLead*float64(g.stats.Leads+1)) - have
}

// moreActivities adds notes (dated after the lead's last activity) while the
// ActivitiesPerLead knob asks for more.
func (g *generator) moreActivities(acts []time.Time, created time.Time) []time.Time {
	n := g.owed(g.opt.ActivitiesPerLead, g.stats.Activities+len(acts))
	last := created
	if len(acts) > 0 {
		last = acts[len(acts)-1]
	}
	for k := 0; k < n && k < 20; k++ {
		t := last.Add(time.Duration(g.r.Float64() * float64(g.opt.Now.Sub(last)) / 4)).Truncate(time.Second)
		if t.Before(last) {
			t = last
		}
		acts = append(acts, t)
		last = t
	}
	return acts
}

// moreOpportunities adds expansion deals to a lead that reached SQL while the
// OpportunitiesPerLead knob asks for more: open, or closed won or lost after a sales cycle.
func (g *generator) moreOpportunities(lead int64, ri, si int, sqlAt time.Time) error {
	if sqlAt.IsZero() {
		return nil // the knob's debt carries over to the next qualified lead
	}
	r, now := g.r, g.opt.Now
	for k, n := 0, g.owed(g.opt.OpportunitiesPerLead, g.stats.Opportunities); k < n && k < 5; k++ {
		created := sqlAt.Add(time.Duration(r.Float64() * float64(now.Sub(sqlAt)))).Truncate(time.Second)
		closeAt := created.Add(logNormal(r, 45*24*time.Hour, 0.5)).Truncate(time.Second)
		stage, closedAt, closed, won, updated := openStages[r.IntN(len(openStages))], any(nil), false, false, created
		if !closeAt.After(now) {
			closed, won, closedAt, updated = true, r.IntN(3) > 0, closeAt, closeAt
			stage = "Closed Lost"
			if won {
				stage = "Closed Won"
			}
		}
		expected := time.Date(closeAt.Year(), closeAt.Month(), closeAt.Day(), 0, 0, 0, 0, time.UTC)
		if err := g.crm.Add(Opportunities, g.nextOpp, lead, amountFor(r, si), regions[ri].currency, stage, created, expected, closedAt,
			closed, won, updated); err != nil {
			return err
		}
		g.nextOpp++
		g.stats.Opportunities++
	}
	return nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// touches writes a lead's marketing touch history so that first touch, lead-creation touch,
// opportunity-creation touch and last touch before the win are often different touches.
func (g *generator) touches(lead int64, ci int, created, oppCreated, closeAt time.Time) error {
	r := g.r
	var times []time.Time
	for k, n := 0, r.IntN(channels[ci].touchSpread); k < n; k++ { // anonymous touches before the form fill
		times = append(times, created.Add(-logNormal(r, 6*24*time.Hour, 0.8)).Truncate(time.Second))
	}
	times = append(times, created.Add(-time.Duration(1+r.IntN(300))*time.Second)) // the form fill
	if !oppCreated.IsZero() {
		for k, n := 0, r.IntN(3); k < n; k++ {
			times = append(times, created.Add(time.Duration(r.Float64()*float64(oppCreated.Sub(created)))).Truncate(time.Second))
		}
		end := closeAt
		if end.After(g.opt.Now) {
			end = g.opt.Now
		}
		for k, n := 0, r.IntN(3); k < n; k++ {
			times = append(times, oppCreated.Add(time.Duration(r.Float64()*float64(end.Sub(oppCreated)))).Truncate(time.Second))
		}
		if r.IntN(4) == 0 && closeAt.Before(g.opt.Now) { // after the win: attribution must ignore it
			times = append(times, closeAt.Add(time.Duration(1+r.IntN(72))*time.Hour))
		}
	}
	for i, t := range times {
		if t.After(g.opt.Now) {
			continue
		}
		cidx := g.campaignFor(ci, i == 0)
		var campaign any
		kind := touchKinds[r.IntN(len(touchKinds))]
		if cidx >= 0 {
			campaign = g.campaigns[cidx].id
		}
		if t.Equal(created) || (t.Before(created) && created.Sub(t) <= 5*time.Minute) {
			kind = "form_fill"
		}
		if err := g.camp.Add(Touchpoints, g.nextTouch, lead, campaign, kind, t, t); err != nil {
			return err
		}
		g.nextTouch++
		g.stats.Touchpoints++
	}
	return nil
}

// campaignFor picks a campaign: the lead's own channel for its first touch, mostly its channel
// after, sometimes any; -1 when the channel has none.
func (g *generator) campaignFor(ci int, first bool) int {
	if !first && g.r.IntN(3) == 0 {
		return g.r.IntN(len(g.campaigns))
	}
	own := g.byChannel[ci]
	if len(own) == 0 {
		if g.r.IntN(2) == 0 {
			return -1
		}
		return g.r.IntN(len(g.campaigns))
	}
	return own[g.r.IntN(len(own))]
}

// dirty adds the rows a real CRM always has: an activity for a lead that does not exist, one
// dated before its lead was created, and a deal in a currency without a rate.
func (g *generator) dirty() error {
	t := g.opt.Now.Add(-time.Hour)
	if err := g.crm.Add(Activities, g.nextAct, int64(g.opt.Leads+1000), nil, "call", t, t); err != nil {
		return err
	}
	g.nextAct++
	before := g.start.Add(-48 * time.Hour) // before lead 1 was created
	if err := g.crm.Add(Activities, g.nextAct, int64(1), nil, "email", before, before); err != nil {
		return err
	}
	g.nextAct++
	g.stats.Activities += 2
	if err := g.crm.Add(Opportunities, g.nextOpp, int64(1), "1000000.00", "JPY", "Discovery", t, nil, nil, false, false, t); err != nil {
		return err
	}
	g.nextOpp++
	g.stats.Opportunities++
	return nil
}
