package tally

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/source"
)

// rowSet is an in-memory set of rows for the live tallies' tests: the same interfaces the poller's
// mirror implements over a real database's rows.
type rowSet struct {
	owners  map[int64]source.Owner
	leads   map[int64]source.Lead
	acts    map[int64]source.Activity
	opps    map[int64]source.Opportunity
	camps   map[int64]source.Campaign
	stats   map[[2]int64]source.CampaignStat
	touches map[int64]source.Touchpoint
}

func (r *rowSet) clone() *rowSet {
	return &rowSet{maps.Clone(r.owners), maps.Clone(r.leads), maps.Clone(r.acts), maps.Clone(r.opps),
		maps.Clone(r.camps), maps.Clone(r.stats), maps.Clone(r.touches)}
}

func each[K comparable, V any](m map[K]V, fn func(V)) {
	for _, v := range m {
		fn(v)
	}
}

func (r *rowSet) EachOwner(fn func(source.Owner))             { each(r.owners, fn) }
func (r *rowSet) EachLead(fn func(source.Lead))               { each(r.leads, fn) }
func (r *rowSet) EachActivity(fn func(source.Activity))       { each(r.acts, fn) }
func (r *rowSet) EachOpportunity(fn func(source.Opportunity)) { each(r.opps, fn) }
func (r *rowSet) EachCampaign(fn func(source.Campaign))       { each(r.camps, fn) }
func (r *rowSet) EachStat(fn func(source.CampaignStat))       { each(r.stats, fn) }
func (r *rowSet) EachTouchpoint(fn func(source.Touchpoint))   { each(r.touches, fn) }
func (r *rowSet) Lead(id int64) (source.Lead, bool)           { l, ok := r.leads[id]; return l, ok }
func (r *rowSet) Stat(k [2]int64) (source.CampaignStat, bool) { s, ok := r.stats[k]; return s, ok }
func (r *rowSet) Touchpoint(id int64) (source.Touchpoint, bool) {
	t, ok := r.touches[id]
	return t, ok
}
func (r *rowSet) ActivitiesOf(lead int64, fn func(source.Activity)) {
	for _, a := range r.acts {
		if a.LeadID == lead {
			fn(a)
		}
	}
}
func (r *rowSet) TouchesOf(lead int64, fn func(source.Touchpoint)) {
	for _, t := range r.touches {
		if t.LeadID == lead {
			fn(t)
		}
	}
}
func (r *rowSet) OpportunitiesOf(lead int64, fn func(source.Opportunity)) {
	for _, o := range r.opps {
		if o.LeadID == lead {
			fn(o)
		}
	}
}

// generator makes random rows of every kind, dirty ones included.
type generator struct {
	rnd    *rand.Rand
	nextID int64
}

func (g *generator) pick(vs ...string) string { return vs[g.rnd.Intn(len(vs))] }

// when is a time around now: mostly the last 60 days, sometimes zero, sometimes in the future.
func (g *generator) when(now time.Time, zeroOdds int) time.Time {
	switch g.rnd.Intn(20) {
	case 0:
		return now.Add(time.Duration(g.rnd.Intn(48)) * time.Hour) // future, or within the tolerance
	case 1: // the inflow windows: the last hours, and the same hours a week ago
		return now.Add(-time.Duration(g.rnd.Int63n(int64(2 * time.Hour))))
	case 2:
		return now.Add(-7*24*time.Hour - time.Duration(g.rnd.Int63n(int64(2*time.Hour))))
	}
	if zeroOdds > 0 && g.rnd.Intn(zeroOdds) == 0 {
		return time.Time{}
	}
	return now.Add(-time.Duration(g.rnd.Int63n(int64(60 * 24 * time.Hour))))
}

func (g *generator) id(existing int) int64 {
	if existing > 0 && g.rnd.Intn(4) > 0 {
		return int64(1 + g.rnd.Intn(existing))
	}
	g.nextID++
	return 1000 + g.nextID
}

func (g *generator) lead(id int64, now time.Time) source.Lead {
	created := g.when(now, 0)
	after := func(t time.Time) time.Time {
		if g.rnd.Intn(3) == 0 {
			return time.Time{}
		}
		return t.Add(time.Duration(g.rnd.Intn(200)) * time.Hour)
	}
	l := source.Lead{ID: id, CreatedAt: created, Source: g.pick("paid_search", "webinar", "outbound", "", "referral"),
		Region: g.pick("na", "emea", "apac", ""), Segment: g.pick("smb", "enterprise"), OwnerID: int64(g.rnd.Intn(5)),
		Status: g.pick("New", "MQL", "Working", "SQL", "Converted", "Disqualified", "Nurture?")}
	l.MQLAt = after(created)
	if !l.MQLAt.IsZero() {
		l.SQLAt = after(l.MQLAt)
	}
	if g.rnd.Intn(6) == 0 {
		l.DisqualifiedAt, l.DisqualifiedReason = after(created), g.pick("no budget", "spam", "")
	}
	l.Digest = rowDigest(l)
	return l
}

func (g *generator) activity(id int64, leads int, now time.Time) source.Activity {
	a := source.Activity{ID: id, LeadID: int64(g.rnd.Intn(leads + 3)), Kind: g.pick("call", "email", "meeting", "note"), OccurredAt: g.when(now, 0)}
	a.Digest = rowDigest(a)
	return a
}

// rowDigest stands for a row's hash_record: a signed 32-bit hash of its values, drawing nothing
// from the generator's random numbers.
func rowDigest(row any) int64 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%+v", row)
	return int64(int32(h.Sum32()))
}

func (g *generator) opportunity(id int64, leads int, now time.Time) source.Opportunity {
	o := source.Opportunity{ID: id, LeadID: int64(g.rnd.Intn(leads + 3)), Amount: money.Cents(g.rnd.Int63n(5_000_000) - 100_000),
		Currency: g.pick("USD", "EUR", "XXX"), Stage: g.pick("discovery", "proposal", "negotiation"), CreatedAt: g.when(now, 0),
		ExpectedClose: g.when(now, 3).Truncate(24 * time.Hour)}
	switch g.rnd.Intn(3) {
	case 0:
		o.IsClosed, o.IsWon, o.ClosedAt = true, true, g.when(now, 5)
	case 1:
		o.IsClosed, o.ClosedAt = true, g.when(now, 0)
	}
	o.Digest = rowDigest(o)
	return o
}

func (g *generator) touch(id int64, leads int, now time.Time) source.Touchpoint {
	return source.Touchpoint{ID: id, LeadID: int64(g.rnd.Intn(leads + 3)), CampaignID: int64(g.rnd.Intn(6)), Kind: g.pick("click", "form", "visit"), OccurredAt: g.when(now, 0)}
}

// mutate applies random inserts, updates and deletes to every table.
func (g *generator) mutate(r *rowSet, now time.Time, n int) {
	leads := len(r.leads)
	for i := 0; i < n; i++ {
		switch g.rnd.Intn(14) {
		case 12, 13: // a lead's own row edited: its labels, owner, status, later stages
			id := int64(1 + g.rnd.Intn(leads+1))
			l, ok := r.leads[id]
			if !ok {
				break
			}
			l.Status, l.Segment, l.Region = g.pick("New", "MQL", "Working", "SQL", "Converted", "Disqualified"), g.pick("smb", "enterprise"), g.pick("na", "emea", "")
			switch g.rnd.Intn(4) {
			case 0:
				l.OwnerID = int64(g.rnd.Intn(5))
			case 1:
				if !l.MQLAt.IsZero() {
					l.SQLAt = g.when(now, 3)
				}
			case 2:
				l.DisqualifiedAt, l.DisqualifiedReason = g.when(now, 2), g.pick("no budget", "spam", "")
			case 3:
				l.MQLAt = g.when(now, 3) // the clock start moves: what its touches made of it changes
			}
			r.leads[id] = l
		case 11: // a lead in the inflow window moves out of marketing's hands, or is deleted
			for _, id := range slices.Sorted(maps.Keys(r.leads)) {
				if l := r.leads[id]; l.CreatedAt.After(now.Add(-time.Hour)) && !l.CreatedAt.After(now) {
					if g.rnd.Intn(2) == 0 {
						delete(r.leads, id)
					} else {
						l.Source = "outbound"
						r.leads[id] = l
					}
					break
				}
			}
		case 0, 1:
			id := g.id(leads)
			r.leads[id] = g.lead(id, now)
		case 2:
			delete(r.leads, int64(1+g.rnd.Intn(leads+1)))
		case 3, 4:
			id := g.id(len(r.acts))
			r.acts[id] = g.activity(id, leads, now)
		case 5:
			delete(r.acts, int64(1+g.rnd.Intn(len(r.acts)+1)))
		case 6:
			id := g.id(len(r.opps))
			r.opps[id] = g.opportunity(id, leads, now)
		case 7:
			id := g.id(len(r.touches))
			r.touches[id] = g.touch(id, leads, now)
		case 8:
			delete(r.touches, int64(1+g.rnd.Intn(len(r.touches)+1)))
		case 9:
			k := [2]int64{int64(1 + g.rnd.Intn(6)), now.Add(-time.Duration(g.rnd.Intn(5)) * 24 * time.Hour).Truncate(24 * time.Hour).Unix()}
			r.stats[k] = source.CampaignStat{CampaignID: k[0], Day: time.Unix(k[1], 0).UTC(), Spend: money.Cents(g.rnd.Int63n(100000)), Impressions: g.rnd.Int63n(5000), Clicks: g.rnd.Int63n(300)}
		case 10:
			switch g.rnd.Intn(8) { // rare: what every lead depends on
			case 0:
				id := int64(1 + g.rnd.Intn(5))
				r.owners[id] = source.Owner{ID: id, Name: "o", SalesTeam: g.pick("inbound", "outbound"), Region: g.pick("na", "emea")}
			case 1:
				id := int64(1 + g.rnd.Intn(5))
				r.camps[id] = source.Campaign{ID: id, Name: g.pick("brand", "retarget", "webinar-q1"), Channel: g.pick("paid_search", "email"), Currency: g.pick("USD", "EUR", "XXX")}
			}
		}
	}
}

func (g *generator) world(now time.Time) *rowSet {
	r := &rowSet{owners: map[int64]source.Owner{}, leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
	for id := int64(1); id <= 4; id++ {
		r.owners[id] = source.Owner{ID: id, Name: fmt.Sprint("owner", id), SalesTeam: g.pick("inbound", "outbound"), Region: g.pick("na", "emea")}
		r.camps[id] = source.Campaign{ID: id, Name: fmt.Sprint("campaign", id), Channel: g.pick("paid_search", "email", "social"), Currency: "USD"}
	}
	for id := int64(1); id <= 80; id++ {
		r.leads[id] = g.lead(id, now)
	}
	for id := int64(1); id <= 200; id++ {
		r.acts[id] = g.activity(id, 80, now)
		r.touches[id] = g.touch(id, 80, now)
	}
	for id := int64(1); id <= 40; id++ {
		r.opps[id] = g.opportunity(id, 80, now)
	}
	g.mutate(r, now, 30)
	return r
}

// batch is the reference: the batch tallies over every row, with their own (sticky) folders, as
// every poll computed them before the live tallies.
type batch struct{ crmFolder, campFolder *Folder }

func (b *batch) tally(t testing.TB, r *rowSet, now time.Time) (crm, camp *Snapshot) {
	cfg := liveConfig(t)
	ct := NewCampaigns(cfg, b.campFolder, now)
	each(r.camps, ct.Campaign)
	each(r.stats, ct.Stat)
	each(r.touches, ct.Touchpoint)
	camp = ct.Finish()
	x := &TouchIndex{Campaigns: ct.Refs(), ByLead: map[int64][]Touch{}}
	for _, tp := range r.touches {
		x.ByLead[tp.LeadID] = append(x.ByLead[tp.LeadID], AsTouch(tp))
	}
	for _, ts := range x.ByLead {
		sortTouches(ts)
	}
	c := NewCRM(cfg, b.crmFolder, now)
	c.UseTouches(x)
	each(r.owners, c.Owner)
	each(r.leads, c.Lead)
	each(r.acts, c.Activity)
	each(r.opps, c.Opportunity)
	return c.Finish(), camp
}

func liveConfig(t testing.TB) *config.Config {
	return testConfig(t, `sla:
  attempts: {count: 2, within: 72h}
  waiting_max_age: 240h
  business_hours:
    default: {timezone: UTC, hours: "09:00-17:00"}
    regions:
      emea: {timezone: Europe/Berlin, hours: "08:00-16:00"}
targets: {currency_rates: {EUR: "1.08"}}
`)
}

// diff describes how two snapshots differ: series present in one only, values that differ
// (floats beyond rounding), data-quality counts.
func diff(got, want *Snapshot) []string {
	var out []string
	names := slices.Sorted(maps.Keys(want.Families))
	for name := range got.Families {
		if _, ok := want.Families[name]; !ok {
			out = append(out, "extra family "+name)
		}
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	for _, name := range names {
		wf, gf := want.Families[name], got.Families[name]
		if gf == nil {
			out = append(out, "missing family "+name)
			continue
		}
		for k, w := range wf.Series {
			g, ok := gf.Series[k]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s%v missing (want %+v)", name, w.Labels, *w))
			case g.N != w.N || !close(g.F, w.F) || g.IsFloat != w.IsFloat:
				out = append(out, fmt.Sprintf("%s%v = %+v, want %+v", name, w.Labels, *g, *w))
			}
		}
		for k, g := range gf.Series {
			if _, ok := wf.Series[k]; !ok {
				out = append(out, fmt.Sprintf("%s%v extra: %+v", name, g.Labels, *g))
			}
		}
	}
	if !maps.Equal(got.Problems, want.Problems) {
		out = append(out, fmt.Sprintf("problems %v, want %v", got.Problems, want.Problems))
	}
	return out
}

// TestLiveMatchesBatch: across many polls of random inserts, updates, deletes, owner and
// campaign changes, clock jumps (past SLA deadlines, attempts windows, future-dated rows, the
// inflow windows, and onto the last and first second of days, weeks, months, quarters and years,
// so that the periods roll over), the live tallies publish exactly what the batch tallies compute
// from all the rows.
func TestLiveMatchesBatch(t *testing.T) {
	var rolledCRM, rolledCamp int // roll-overs that recomputed only the rows dated in the moved periods
	var carried int               // leads recomputed from their new row and their facts
	for seed := int64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			g := &generator{rnd: rand.New(rand.NewSource(seed))}
			now := time.Date(2026, 3, 27, 10, 0, 0, 0, time.UTC) // near a month's and a quarter's end
			rows := g.world(now)
			cfg := liveConfig(t)
			ref := &batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}
			feed := NewTouchFeed()
			liveCamp := NewLiveCampaigns(cfg, NewFolder(cfg.Caps))
			liveCamp.Share(feed)
			liveCRM := NewLiveCRM(cfg, NewFolder(cfg.Caps), feed)
			// Full recounts in rounds of a few leads (admission first), reading every row a round
			// (seeds 2, 6) or a range of leads at a time, as from the poller's mirror (4, 8).
			ranged := seed%4 == 0
			if seed%2 == 0 {
				liveCRM.roundLeads = 5
			}
			cur := &rowSet{owners: map[int64]source.Owner{}, leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
				camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
			var prev []*Snapshot
			for poll := 0; poll < 40; poll++ {
				if poll > 0 {
					switch j := g.rnd.Intn(6); j {
					case 4: // to the last second of the day, then (next poll, maybe) over midnight
						y, m, d := now.Date()
						now = time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()).Add(-time.Second)
					case 5:
						now = now.Add(time.Second)
					default:
						now = now.Add([]time.Duration{time.Minute, 30 * time.Minute, 6 * time.Hour, 50 * time.Hour}[j])
					}
					rows = rows.clone()
					g.mutate(rows, now, 1+g.rnd.Intn(25))
				}
				crmRebuilds, campRebuilds, moved := liveCRM.Rebuilds, liveCamp.Rebuilds, poll > 0 && !cfg.Calendar.Spans(now).Equal(liveCRM.spans)
				gotCamp, gotCRM := livePoll(cur, rows, liveCamp, liveCRM, feed, now, ranged, seed%3 != 0)
				carried += liveCRM.Carried
				if moved && liveCRM.Rebuilds == crmRebuilds {
					rolledCRM++
				}
				if moved && liveCamp.Rebuilds == campRebuilds {
					rolledCamp++
				}
				wantCRM, wantCamp := ref.tally(t, rows, now)
				for _, d := range diff(gotCamp, wantCamp) {
					t.Errorf("poll %d, campaigns: %s", poll, d)
				}
				for _, d := range diff(gotCRM, wantCRM) {
					t.Errorf("poll %d, crm: %s", poll, d)
				}
				// What the last poll published is left as it was (it shares value sets with the
				// sums this poll went on from).
				if prev != nil {
					for _, d := range diff(prev[0], prev[1]) {
						t.Errorf("poll %d changed what poll %d published: %s", poll, poll-1, d)
					}
				}
				prev = []*Snapshot{gotCRM, wantCRM}
				checkDigests(t, poll, liveCRM, rows)
				if t.Failed() {
					t.FailNow()
				}
			}
			if liveCRM.Rebuilds == 40 {
				t.Errorf("every poll rebuilt the CRM tally: the live path was never taken")
			}
		})
	}
	if carried == 0 {
		t.Errorf("no lead was recomputed from its new row and its facts (LiveCRM.Known)")
	}
	t.Logf("leads recomputed from their new row and their facts: %d", carried)
	if rolledCRM == 0 || rolledCamp == 0 {
		t.Errorf("no roll-over took the incremental path (CRM %d, campaigns %d)", rolledCRM, rolledCamp)
	}
	t.Logf("roll-overs recomputing only the moved periods' rows: CRM %d, campaigns %d", rolledCRM, rolledCamp)
}

// checkDigests compares the digests the live tally keeps, by entity (a lead, or the lead id of
// rows of no known lead: 0 for deals without one), with the sums of the rows' own, as a
// reconciliation compares them with the database's.
func checkDigests(t *testing.T, poll int, crm *LiveCRM, rows *rowSet) {
	t.Helper()
	want := map[int64]Digest{}
	add := func(id int64, q int, d int64) {
		x := want[id]
		x[q].N++
		x[q].Sum += d
		want[id] = x
	}
	for _, l := range rows.leads {
		add(l.ID, DigestLeads, l.Digest)
	}
	for _, a := range rows.acts {
		add(a.LeadID, DigestActivities, a.Digest)
	}
	for _, o := range rows.opps {
		add(o.LeadID, DigestOpportunities, o.Digest)
	}
	got := map[int64]Digest{}
	crm.Digests(func(id int64, d Digest) {
		if d != (Digest{}) {
			got[id] = d
		}
	})
	for id := range want {
		if _, ok := got[id]; !ok {
			got[id] = Digest{}
		}
	}
	for id, g := range got {
		for q := range g {
			if w := want[id][q]; !g[q].Same(w) {
				t.Errorf("poll %d: entity %d's digest of query %d = %+v, want %+v", poll, id, q, g[q], w)
			}
		}
	}
}

// livePoll does what the poller does: works out which keys change between cur and next, hands
// them to the live tallies with a function that makes cur the next rows, and passes the touch
// changes from the campaign side to the CRM side. With known, it tells the CRM tally the new
// row of each lead whose own row is all that changed, as the poller's delta does.
func livePoll(cur, next *rowSet, camp *LiveCampaigns, crm *LiveCRM, feed *TouchFeed, now time.Time, ranged, known bool) (campSnap, crmSnap *Snapshot) {
	stats, touched := map[[2]int64]bool{}, map[int64]bool{}
	changed(cur.stats, next.stats, func(k [2]int64, _, _ *source.CampaignStat) { stats[k] = true })
	changed(cur.touches, next.touches, func(_ int64, old, new *source.Touchpoint) {
		if old != nil {
			touched[old.LeadID] = true
		}
		if new != nil {
			touched[new.LeadID] = true
		}
	})
	rebuildCamp := false
	changed(cur.camps, next.camps, func(int64, *source.Campaign, *source.Campaign) { rebuildCamp = true })
	campSnap, _ = camp.Update(cur, stats, touched, rebuildCamp, func() {
		cur.camps, cur.stats, cur.touches = next.camps, next.stats, next.touches
	}, now)

	dirty := map[int64]bool{}
	rebuildCRM := false
	changed(cur.owners, next.owners, func(int64, *source.Owner, *source.Owner) { rebuildCRM = true })
	changed(cur.leads, next.leads, func(k int64, _, _ *source.Lead) { dirty[k] = true })
	changed(cur.acts, next.acts, func(_ int64, old, new *source.Activity) {
		if old != nil {
			dirty[old.LeadID] = true
		}
		if new != nil {
			dirty[new.LeadID] = true
		}
	})
	changed(cur.opps, next.opps, func(_ int64, old, new *source.Opportunity) {
		if old != nil {
			dirty[old.LeadID] = true
		}
		if new != nil {
			dirty[new.LeadID] = true
		}
	})
	var rows CRMRows = cur
	if ranged {
		rows = rangedSet{cur, ByScan(cur)}
	}
	own := map[int64]source.Lead{}
	if known {
		others := map[int64]bool{}
		changed(cur.acts, next.acts, func(_ int64, old, new *source.Activity) {
			for _, a := range []*source.Activity{old, new} {
				if a != nil {
					others[a.LeadID] = true
				}
			}
		})
		changed(cur.opps, next.opps, func(_ int64, old, new *source.Opportunity) {
			for _, o := range []*source.Opportunity{old, new} {
				if o != nil {
					others[o.LeadID] = true
				}
			}
		})
		changed(cur.leads, next.leads, func(k int64, _, new *source.Lead) {
			if new != nil && !others[k] {
				own[k] = *new
			}
		})
	}
	crmSnap = crm.UpdateKnown(rows, dirty, own, rebuildCRM, func() {
		cur.owners, cur.leads, cur.acts, cur.opps = next.owners, next.leads, next.acts, next.opps
	}, now)
	return campSnap, crmSnap
}

// rangedSet reads rows by range of lead ids, as the poller's mirror does (RangeRows).
type rangedSet struct {
	*rowSet
	RangeRows
}

func changed[K comparable, V comparable](cur, next map[K]V, fn func(k K, old, new *V)) {
	for k, v := range next {
		if o, ok := cur[k]; !ok {
			fn(k, nil, &v)
		} else if o != v {
			fn(k, &o, &v)
		}
	}
	for k, o := range cur {
		if _, ok := next[k]; !ok {
			fn(k, &o, nil)
		}
	}
}

// A CRM without a lead yet (a new CRM, a backfill's first day), whose rows are read by range of
// lead ids over several cores: its deal without a lead counts, as a batch tally counts it.
func TestLiveWithoutLeadsReadByRange(t *testing.T) {
	cfg := liveConfig(t)
	now := time.Date(2026, 6, 9, 12, 0, 0, 0, time.UTC)
	rows := &rowSet{owners: map[int64]source.Owner{1: {ID: 1, Name: "o", SalesTeam: "inbound", Region: "na"}},
		leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{
			1: {ID: 1, Amount: 500_000, Currency: "USD", Stage: "proposal", CreatedAt: now.Add(-time.Hour)}},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
	feed := NewTouchFeed()
	camp, live := NewLiveCampaigns(cfg, NewFolder(cfg.Caps)), NewLiveCRM(cfg, NewFolder(cfg.Caps), feed)
	camp.Share(feed)
	live.roundLeads = 5 // several ranges even for a handful of rows
	cur := &rowSet{owners: map[int64]source.Owner{}, leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
	_, got := livePoll(cur, rows, camp, live, feed, now, true, false)
	want, _ := (&batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}).tally(t, rows, now)
	for _, d := range diff(got, want) {
		t.Error(d)
	}
	if f := got.Families[metrics.OpportunitiesCreated]; f == nil || len(f.Series) == 0 {
		t.Error("the deal without a lead is not counted")
	}
}

// At midnight the live tally recounts only the leads with a timestamp in the new day, all of them
// still ahead of midnight: a deal expected to close tomorrow joins today's pipeline, an SLA met
// before a deadline that falls tomorrow morning counts in today's "within SLA" once today is
// that day. What the other leads put in today moves to yesterday as it is, without a recount.
func TestRollOverRecountsOnlyTheMovedPeriods(t *testing.T) {
	cfg := liveConfig(t)
	day := time.Date(2026, 6, 9, 0, 0, 0, 0, time.UTC) // a Tuesday: only the days move at its end
	rows := &rowSet{owners: map[int64]source.Owner{1: {ID: 1, Name: "o", SalesTeam: "inbound", Region: "na"}},
		leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
	for id := int64(1); id <= 100; id++ { // leads of months ago
		at := day.AddDate(0, -4, int(id%20))
		rows.leads[id] = source.Lead{ID: id, CreatedAt: at, MQLAt: at, Source: "webinar", OwnerID: 1, Status: "MQL"}
		rows.acts[id] = source.Activity{ID: id, LeadID: id, Kind: "call", OccurredAt: at.Add(30 * time.Minute)}
		// and called again today: their touches move from today to yesterday at midnight
		rows.acts[1000+id] = source.Activity{ID: 1000 + id, LeadID: id, Kind: "email", OccurredAt: day.Add(time.Duration(id%23) * time.Hour)}
	}
	// Met before a deadline of tomorrow 09:30 (one business hour after 16:30), both attempts made.
	mql := day.Add(16*time.Hour + 30*time.Minute)
	rows.leads[101] = source.Lead{ID: 101, CreatedAt: mql, MQLAt: mql, Source: "webinar", OwnerID: 1, Status: "MQL"}
	rows.acts[101] = source.Activity{ID: 101, LeadID: 101, Kind: "call", OccurredAt: mql.Add(10 * time.Minute)}
	rows.acts[102] = source.Activity{ID: 102, LeadID: 101, Kind: "call", OccurredAt: mql.Add(20 * time.Minute)}
	// An open deal of a lead of months ago, expected to close tomorrow.
	rows.opps[1] = source.Opportunity{ID: 1, LeadID: 7, Amount: 500_000, Currency: "USD", Stage: "proposal",
		CreatedAt: day.AddDate(0, -3, 0), ExpectedClose: day.AddDate(0, 0, 1)}

	feed := NewTouchFeed()
	camp, live := NewLiveCampaigns(cfg, NewFolder(cfg.Caps)), NewLiveCRM(cfg, NewFolder(cfg.Caps), feed)
	camp.Share(feed)
	ref := &batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}
	cur := &rowSet{owners: map[int64]source.Owner{}, leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
	for i, now := range []time.Time{day.Add(23*time.Hour + 59*time.Minute), day.Add(24*time.Hour + time.Minute)} {
		_, got := livePoll(cur, rows, camp, live, feed, now, false, false)
		want, _ := ref.tally(t, rows, now)
		for _, d := range diff(got, want) {
			t.Errorf("poll %d: %s", i, d)
		}
		if i == 1 {
			if live.Rebuilds != 1 {
				t.Errorf("midnight recounted every lead (%d full recounts)", live.Rebuilds)
			}
			// Not the hundred leads touched today: what they put in today moves to yesterday
			// whole (Snapshot.roll).
			if live.Recomputed != 2 {
				t.Errorf("midnight recomputed %d leads, want the 2 with a timestamp in the new day", live.Recomputed)
			}
			var yesterday int64
			for _, x := range got.Families[metrics.SalesTouches].Series {
				if x.Labels[0] == string(fiscal.Yesterday) {
					yesterday += x.N
				}
			}
			if yesterday != 100+2 { // lead 101's two calls too
				t.Errorf("%d sales touches yesterday, want today's 102 moved over", yesterday)
			}
		}
	}
	if t.Failed() {
		return
	}
	// Both numbers moved into today: the test is about something.
	_, got := livePoll(cur, rows, camp, live, feed, day.Add(25*time.Hour), false, false)
	for _, name := range []string{metrics.PipelineOpen, metrics.FollowupWithinSLA} {
		found := false
		for _, x := range got.Families[name].Sorted() {
			found = found || x.Labels[0] == "today" && x.N > 0
		}
		if !found {
			t.Errorf("no %s today after midnight", name)
		}
	}
}

// A cold start reads the CRM's rows while the campaign side's first poll is still running (a
// plan that CanBeLate, with WaitTouches): rounds stored before the touches are in are joined to
// them afterwards, rounds after are joined as they are stored. Either way the first tally, and
// the poll after it, publish what the batch tally computes from all the rows.
func TestLateTouchesAtColdStart(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		for _, c := range []struct{ early, ranged bool }{{false, true}, {true, true}, {false, false}, {true, false}} {
			early := c.early
			g := &generator{rnd: rand.New(rand.NewSource(seed))}
			now := time.Date(2026, 3, 27, 10, 0, 0, 0, time.UTC)
			rows := g.world(now)
			for range 3 { // more leads, touches and deals than the world starts with
				g.mutate(rows, now, 25)
			}
			cfg := liveConfig(t)
			feed := NewTouchFeed()
			camp := NewLiveCampaigns(cfg, NewFolder(cfg.Caps))
			camp.Share(feed)
			live := NewLiveCRM(cfg, NewFolder(cfg.Caps), feed)
			live.roundLeads = 3 // several rounds, some stored before the touches are in
			campaignPoll := func() {
				camp.Update(rows, map[[2]int64]bool{}, map[int64]bool{}, true, func() {}, now)
				feed.Settle()
			}
			p := live.Plan(map[int64]bool{}, false, now)
			if !p.CanBeLate() {
				t.Fatal("a first tally planned before the campaign side's first poll cannot be late")
			}
			waited := false
			p.WaitTouches = func() error {
				waited = true
				campaignPoll()
				return nil
			}
			if early {
				campaignPoll() // over before the first round is stored
			}
			// Rows by range are stored in id order, the touches joined to the rounds stored
			// before they came; rows without ranges (rounds by id modulo) wait for them first.
			var in CRMRows = rangedSet{rows, ByScan(rows)}
			if !c.ranged {
				in = rows
			}
			got, err := live.Apply(p, in)
			if err != nil {
				t.Fatal(err)
			}
			if waited == early {
				t.Errorf("seed %d, early %v, ranged %v: waited for the touches: %v", seed, early, c.ranged, waited)
			}
			want, _ := (&batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}).tally(t, rows, now)
			for _, d := range diff(got, want) {
				t.Errorf("seed %d, early %v, ranged %v, cold start: %s", seed, early, c.ranged, d)
			}
			// The next poll: the tally took the campaign side's news and reads its touches.
			next := rows.clone()
			g.mutate(next, now.Add(time.Hour), 10)
			_, got = livePoll(rows, next, camp, live, feed, now.Add(time.Hour), true, false)
			want, _ = (&batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}).tally(t, next, now.Add(time.Hour))
			for _, d := range diff(got, want) {
				t.Errorf("seed %d, early %v, next poll: %s", seed, early, d)
			}
		}
	}
}

func TestBoundsOf(t *testing.T) {
	seq := func(lo, hi int64) []int64 {
		var out []int64
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		sorted []int64
		k      int
		want   []int64
	}{
		{"even ranges", seq(1, 100), 4, []int64{26, 51, 76}},
		{"one range", seq(1, 100), 1, nil},
		{"no ids", nil, 8, nil},
		{"a lead with most touchpoints", []int64{5, 5, 5, 5, 5, 5, 8, 9}, 4, []int64{5, 8}},
		{"more ranges than ids", []int64{3, 9}, 8, []int64{3, 9}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := BoundsOf(c.sorted, c.k); !slices.Equal(got, c.want) {
				t.Errorf("BoundsOf(%v, %d) = %v, want %v", c.sorted, c.k, got, c.want)
			}
		})
	}
}

// touchList gives its touchpoints in the order it holds them.
type touchList struct {
	rowSet
	list []source.Touchpoint
}

func (r *touchList) EachTouchpoint(fn func(source.Touchpoint)) {
	for _, t := range r.list {
		fn(t)
	}
}

// TestStoreTouchesInAnyOrder: the touch store a full read builds is the same whether the rows
// come in lead order (folded where they lie) or not (sorted by lead first), repeated ids and
// rows out of time order included, and each lead's record is that of its rows folded alone.
func TestStoreTouchesInAnyOrder(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var rows []source.Touchpoint
	id := int64(0)
	for lead := int64(1); lead <= 300; lead++ {
		for k := range int(lead % 7) {
			id++
			rows = append(rows, source.Touchpoint{ID: id, LeadID: lead, CampaignID: lead % 5, Kind: "ad_click",
				OccurredAt: at.Add(time.Duration((int(lead)*13+k*29)%97) * time.Hour)})
			if k == 2 { // a repeated id: a second row of the same touchpoint
				rows = append(rows, rows[len(rows)-1])
			}
		}
	}
	inOrder := slices.Clone(rows)
	shuffled := slices.Clone(rows)
	rand.New(rand.NewSource(12)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if slices.IsSortedFunc(shuffled, func(a, b source.Touchpoint) int { return cmp.Compare(a.LeadID, b.LeadID) }) {
		t.Fatal("the shuffled rows are in lead order: the test would not cover the sorting path")
	}
	a := storeTouches(&touchList{list: inOrder}, nil)
	b := storeTouches(&touchList{list: shuffled}, nil)
	if a.Len() != b.Len() || a.Len() != 300-300/7 {
		t.Fatalf("stores of %d and %d leads, want %d", a.Len(), b.Len(), 300-300/7)
	}
	for lead := int64(1); lead <= 300; lead++ {
		var own []source.Touchpoint
		for _, r := range rows {
			if r.LeadID == lead {
				own = append(own, r)
			}
		}
		ga, oka := a.get(lead)
		gb, okb := b.get(lead)
		if oka != (len(own) > 0) || okb != oka || !reflect.DeepEqual(ga, gb) {
			t.Fatalf("lead %d (%d rows): in lead order %v %+v, shuffled %v %+v", lead, len(own), oka, ga, okb, gb)
		}
		if len(own) == 0 {
			continue
		}
		alone := newTouchStore()
		alone.putRecord(lead, encodeTouches(nil, &alone.d, foldTouches(own, nil)))
		if want, _ := alone.get(lead); !reflect.DeepEqual(ga, want) {
			t.Fatalf("lead %d: stored %+v, folded alone %+v", lead, ga, want)
		}
	}
}
