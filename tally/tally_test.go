package tally

import (
	"math"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

func testConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("databases: {crm: {dsn_env: X}}\n"+yml), "t.yml", func(string) string { return "postgres://x" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// one tallies a single lead with its activities and opportunities.
func one(t *testing.T, cfg *config.Config, now time.Time, l source.Lead, acts []source.Activity, opps []source.Opportunity) *Snapshot {
	t.Helper()
	c := NewCRM(cfg, NewFolder(cfg.Caps), now)
	c.Owner(source.Owner{ID: 1, Name: "Ava Adler", SalesTeam: "na-inbound"})
	if l.ID == 0 {
		l.ID = 1
	}
	c.Lead(l)
	for i, a := range acts {
		a.ID, a.LeadID = int64(i+1), l.ID
		c.Activity(a)
	}
	for i, o := range opps {
		o.ID, o.LeadID = int64(i+1), l.ID
		c.Opportunity(o)
	}
	return c.Finish()
}

// total sums a family's values over all series whose labels contain want (in any position).
func total(s *Snapshot, name string, want ...string) float64 {
	f := s.Families[name]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, x := range f.Series {
		ok := true
		for _, w := range want {
			found := false
			for _, l := range x.Labels {
				if l == w {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			if f.Def.Type == metrics.Histogram {
				sum += float64(x.Count)
			} else {
				sum += x.Value(f.Def)
			}
		}
	}
	return sum
}

func TestFollowUp(t *testing.T) {
	cfg := testConfig(t, "")
	lead := source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), Source: "paid_search", Status: "MQL", OwnerID: 1}
	call := func(d time.Duration) source.Activity { return source.Activity{Kind: "call", OccurredAt: at(d)} }
	cases := []struct {
		name       string
		lead       source.Lead
		acts       []source.Activity
		opps       []source.Opportunity
		now        time.Time
		within     float64
		over       float64
		waitWithin float64
		waitOver   float64
		abandoned  float64
		oldest     float64 // seconds; 0 = no series
		latencySum float64
	}{
		{name: "touched within the hour", lead: lead, acts: []source.Activity{call(40 * time.Minute)}, now: at(48 * time.Hour), within: 1, latencySum: 30 * 60},
		{name: "touched exactly at the target", lead: lead, acts: []source.Activity{call(70 * time.Minute)}, now: at(48 * time.Hour), within: 1, latencySum: 3600},
		{name: "touched a second late", lead: lead, acts: []source.Activity{call(70*time.Minute + time.Second)}, now: at(48 * time.Hour), over: 1, latencySum: 3601},
		{name: "the first qualifying touch counts, not the first row", lead: lead,
			acts: []source.Activity{call(5 * time.Hour), call(20 * time.Minute)}, now: at(48 * time.Hour), within: 1, latencySum: 600},
		{name: "a touch before the clock starts is not follow-up", lead: lead,
			acts: []source.Activity{call(5 * time.Minute), call(3 * time.Hour)}, now: at(48 * time.Hour), over: 1, latencySum: 3*3600 - 600},
		{name: "kinds that are not touches do not stop the clock", lead: lead,
			acts: []source.Activity{{Kind: "note", OccurredAt: at(15 * time.Minute)}}, now: at(30 * time.Minute), waitWithin: 1, oldest: 20 * 60},
		{name: "kind matching ignores case", lead: lead,
			acts: []source.Activity{{Kind: " Email ", OccurredAt: at(15 * time.Minute)}}, now: at(30 * time.Minute), within: 1, latencySum: 300},
		{name: "waiting within the SLA", lead: lead, now: at(40 * time.Minute), waitWithin: 1, oldest: 30 * 60},
		{name: "waiting over the SLA", lead: lead, now: at(3 * time.Hour), waitOver: 1, oldest: 3*3600 - 600},
		{name: "waiting longer than waiting_max_age is abandoned", lead: lead, now: at(40 * 24 * time.Hour), abandoned: 1},
		{name: "no clock before MQL", lead: source.Lead{CreatedAt: t0, Status: "New", OwnerID: 1}, now: at(3 * time.Hour)},
		{name: "a disqualified lead does not wait", lead: source.Lead{CreatedAt: t0, MQLAt: at(time.Minute), DisqualifiedAt: at(time.Hour), Status: "Disqualified"}, now: at(3 * time.Hour)},
		{name: "a lead with an opportunity does not wait", lead: lead, opps: []source.Opportunity{{Amount: 100, CreatedAt: at(time.Hour)}}, now: at(3 * time.Hour)},
		{name: "a lead in a terminal status does not wait", lead: source.Lead{CreatedAt: t0, MQLAt: at(time.Minute), Status: "customer"}, now: at(3 * time.Hour)},
		{name: "a clock start in the future waits with age zero", lead: lead, now: at(5 * time.Minute), waitWithin: 1, oldest: 0},
	}
	// Each case as written, then moved in time so that its "now" is each simulated instant.
	moments := []instants.Instant{{Name: "as written"}}
	moments = append(moments, instants.All(time.Now(), time.January)...)
	for _, c := range cases {
		for _, in := range moments {
			shift := time.Duration(0)
			if !in.At.IsZero() {
				shift = in.At.Sub(c.now)
			}
			c := c
			c.now = c.now.Add(shift)
			c.lead, c.acts, c.opps = shifted(c.lead, c.acts, c.opps, shift)
			t.Run(c.name+"/"+in.Name, func(t *testing.T) {
				followUpCase(t, cfg, c.now, c.lead, c.acts, c.opps, [...]float64{c.within, c.over, c.waitWithin, c.waitOver, c.abandoned, c.oldest, c.latencySum})
			})
		}
	}
}

// shifted moves a lead's rows by d.
func shifted(l source.Lead, acts []source.Activity, opps []source.Opportunity, d time.Duration) (source.Lead, []source.Activity, []source.Opportunity) {
	move := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
	for _, t := range []*time.Time{&l.CreatedAt, &l.MQLAt, &l.SQLAt, &l.DisqualifiedAt} {
		move(t)
	}
	acts = append([]source.Activity(nil), acts...)
	for i := range acts {
		move(&acts[i].OccurredAt)
	}
	opps = append([]source.Opportunity(nil), opps...)
	for i := range opps {
		move(&opps[i].CreatedAt)
		move(&opps[i].ClosedAt)
		move(&opps[i].ExpectedClose)
	}
	return l, acts, opps
}

// followUpCase checks a lead's follow-up numbers: within, over, waiting within, waiting over,
// abandoned, oldest wait and latency sum.
func followUpCase(t *testing.T, cfg *config.Config, now time.Time, l source.Lead, acts []source.Activity, opps []source.Opportunity, want [7]float64) {
	t.Helper()
	s := one(t, cfg, now, l, acts, opps)
	check := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	sum := 0.0
	for _, x := range s.Families[metrics.FollowupLatency].Series {
		sum += x.Sum
	}
	for i, got := range []float64{
		total(s, metrics.FollowupWithinSLA), total(s, metrics.FollowupOverSLA),
		total(s, metrics.FollowupWaiting, metrics.SLAWithin), total(s, metrics.FollowupWaiting, metrics.SLAOver),
		total(s, metrics.FollowupAbandoned), total(s, metrics.FollowupOldestWait), sum,
	} {
		check([]string{"within", "over", "waiting within", "waiting over", "abandoned", "oldest wait", "latency sum"}[i], got, want[i])
	}
	check("latency observations", total(s, metrics.FollowupLatency), want[0]+want[1])
}

func TestClockStartConfigurable(t *testing.T) {
	cfg := testConfig(t, "sla: {clock_start: lead, target: 15m}")
	s := one(t, cfg, at(time.Hour), source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), Status: "MQL"},
		[]source.Activity{{Kind: "call", OccurredAt: at(20 * time.Minute)}}, nil)
	if total(s, metrics.FollowupOverSLA) != 1 {
		t.Fatal("from lead creation, a touch after 20 minutes is over a 15-minute SLA")
	}
}

func TestStagesAndAmounts(t *testing.T) {
	cfg := testConfig(t, `targets: {currency_rates: {EUR: "1.5"}, revenue: {FY2026: "1000"}}`)
	l := source.Lead{CreatedAt: t0, MQLAt: at(time.Hour), SQLAt: at(2 * time.Hour), Status: "Converted", Source: " paid_search "}
	opps := []source.Opportunity{
		{Amount: 1001, Currency: "eur", CreatedAt: at(3 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: at(5 * time.Hour)},
		{Amount: 500, CreatedAt: at(4 * time.Hour), IsClosed: true, ClosedAt: at(6 * time.Hour)},
		{Amount: 700, CreatedAt: at(4 * time.Hour), Stage: "Proposal", ExpectedClose: time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)},
		{Amount: 999, Currency: "JPY", CreatedAt: at(4 * time.Hour)},
	}
	s := one(t, cfg, at(24*time.Hour), l, nil, opps)
	for _, c := range []struct {
		name  string
		want  float64
		label []string
	}{
		{metrics.FunnelStageEntered, 1, []string{"opportunity"}}, // one lead, three opportunities: counted once
		{metrics.FunnelStageEntered, 1, []string{"won"}},
		{metrics.FunnelStageEntered, 1, []string{"lost"}},
		{metrics.LeadsCreated, 1, []string{"paid_search"}}, // source trimmed
		{metrics.OpportunitiesCreated, 3, nil},             // the JPY deal has no rate: skipped
		{metrics.OpportunitiesWonAmt, 15.02, nil},          // 10.01 EUR × 1.5 = 15.015 → 15.02
		{metrics.OpportunitiesLostAmt, 5, nil},
		{metrics.OpportunitiesOpenAmt, 7, []string{"Proposal"}},
		{metrics.Leads, 1, []string{"won"}}, // any won deal makes the lead won
		{metrics.RevenueWon, 15.02, []string{"quarter"}},
		{metrics.PipelineOpen, 7, []string{"quarter"}},
		{metrics.RevenueTarget, 250, []string{"quarter"}},
		{metrics.RevenueTarget, 1000, []string{"year"}},
	} {
		if got := total(s, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}
	if s.Problems[Problem{source.QueryOpportunities, CheckCurrencyWithoutRate}] != 1 {
		t.Errorf("problems = %v", s.Problems)
	}
}

func TestDataQuality(t *testing.T) {
	cfg := testConfig(t, "")
	c := NewCRM(cfg, NewFolder(cfg.Caps), at(time.Hour))
	c.Lead(source.Lead{ID: 1, CreatedAt: t0, Status: "New", OwnerID: 99})
	c.Lead(source.Lead{ID: 1, CreatedAt: t0, Status: "New", Source: "x"})
	c.Lead(source.Lead{ID: 2, CreatedAt: t0, Status: "Nurture", Source: "x"})
	c.Activity(source.Activity{ID: 1, LeadID: 3, Kind: "call", OccurredAt: t0})
	c.Activity(source.Activity{ID: 2, LeadID: 1, Kind: "call", OccurredAt: t0.Add(-time.Second)})
	c.Activity(source.Activity{ID: 2, LeadID: 1, Kind: "call", OccurredAt: t0})
	c.Opportunity(source.Opportunity{ID: 1, LeadID: 42, Amount: 100, CreatedAt: t0, IsWon: true})
	s := c.Finish()
	want := map[Problem]int{
		{source.QueryLeads, CheckDuplicateID}:                 1,
		{source.QueryLeads, CheckNullSource}:                  1,
		{source.QueryLeads, CheckUnknownOwner}:                1,
		{source.QueryLeads, CheckUnknownStatus}:               1,
		{source.QueryActivities, CheckActivityUnknownLead}:    1,
		{source.QueryActivities, CheckActivityBeforeLead}:     1,
		{source.QueryActivities, CheckDuplicateID}:            1,
		{source.QueryOpportunities, CheckOpportunityNoLead}:   1,
		{source.QueryOpportunities, CheckWonWithoutCloseTime}: 1,
	}
	for p, n := range want {
		if s.Problems[p] != n {
			t.Errorf("%v = %d, want %d", p, s.Problems[p], n)
		}
	}
	if len(s.Problems) != len(want) {
		t.Errorf("problems = %v", s.Problems)
	}
	if got := total(s, metrics.OpportunitiesWon, metrics.ValueUnknown); got != 1 {
		t.Errorf("a deal without a known lead still counts, with unknown dimensions: got %v", got)
	}
	if got := total(s, metrics.LeadsCreated); got != 2 {
		t.Errorf("leads created = %v, want 2 (the duplicate skipped)", got)
	}
}

func TestFolder(t *testing.T) {
	f := NewFolder(map[string]int{"source": 2})
	f.Admit("source", map[string]int{"a": 5, "b": 9, "c": 5, "unknown": 50})
	for in, want := range map[string]string{"b": "b", "a": "a", "c": "other", "unknown": "unknown", "other": "other"} {
		if got := f.Value("source", in); got != want {
			t.Errorf("Value(%q) = %q, want %q", in, got, want)
		}
	}
	// Admission is sticky: c never gets in later, even if it grows.
	f.Admit("source", map[string]int{"c": 100})
	if f.Value("source", "c") != "other" || f.Value("source", "a") != "a" {
		t.Error("admission must be sticky")
	}
	if f.Value("region", "anything") != "anything" {
		t.Error("labels without a cap are not folded")
	}
}

func TestGuard(t *testing.T) {
	mk := func(n int64, buckets ...uint64) *Snapshot {
		s := newSnapshot()
		s.add(metrics.LeadsCreated, n, "a")
		x := s.sample(metrics.FollowupLatency, []string{"a"})
		copy(x.Buckets, buckets)
		x.Count, x.Sum = buckets[len(buckets)-1], float64(n)
		s.set(metrics.FollowupOldestWait, float64(n), "a")
		return s
	}
	g := NewGuard()
	steps := []struct {
		in        int64
		buckets   []uint64
		want      float64
		wantCount uint64
		falls     int
	}{
		{10, []uint64{1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3}, 10, 3, 0},
		{9, []uint64{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, 10, 3, 2},  // fell: keep
		{12, []uint64{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4}, 13, 5, 0}, // grows on top of the kept value
	}
	for i, st := range steps {
		s := mk(st.in, st.buckets...)
		falls := g.Apply(s)
		got := s.Families[metrics.LeadsCreated].Series[key([]string{"a"})]
		h := s.Families[metrics.FollowupLatency].Series[key([]string{"a"})]
		if got.Value(s.Families[metrics.LeadsCreated].Def) != st.want || h.Count != st.wantCount {
			t.Errorf("step %d: counter %v count %d, want %v %d", i, got.N, h.Count, st.want, st.wantCount)
		}
		for j := 1; j < len(h.Buckets); j++ {
			if h.Buckets[j] < h.Buckets[j-1] {
				t.Errorf("step %d: buckets not cumulative: %v", i, h.Buckets)
			}
		}
		if n := falls[metrics.LeadsCreated] + falls[metrics.FollowupLatency]; n != st.falls {
			t.Errorf("step %d: falls %v, want %d", i, falls, st.falls)
		}
		if g := s.Families[metrics.FollowupOldestWait].Series[key([]string{"a"})]; g.F != float64(st.in) {
			t.Errorf("step %d: gauges are not guarded: %v", i, g.F)
		}
	}
	// A series whose rows all vanished keeps its value.
	s := newSnapshot()
	s.family(metrics.LeadsCreated)
	s.family(metrics.FollowupLatency)
	g.Apply(s)
	if x := s.Families[metrics.LeadsCreated].Series[key([]string{"a"})]; x == nil || x.N != 13 {
		t.Errorf("vanished series: %+v", x)
	}
}

func TestBusinessHoursByOwnerRegion(t *testing.T) {
	cfg := testConfig(t, `sla:
  business_hours:
    default: {timezone: UTC, hours: "09:00-17:00"}
    regions:
      emea: {timezone: Europe/Berlin, hours: "08:00-16:00", holidays: ["2026-03-09"]}
`)
	fri := time.Date(2026, 3, 6, 18, 0, 0, 0, time.UTC) // a Friday
	run := func(ownerRegion string, mql, touch, now time.Time) *Snapshot {
		c := NewCRM(cfg, NewFolder(cfg.Caps), now)
		c.Owner(source.Owner{ID: 1, SalesTeam: "t", Region: ownerRegion})
		c.Lead(source.Lead{ID: 1, CreatedAt: mql.Add(-time.Hour), MQLAt: mql, Status: "MQL", OwnerID: 1})
		if !touch.IsZero() {
			c.Activity(source.Activity{ID: 1, LeadID: 1, Kind: "call", OccurredAt: touch})
		}
		return c.Finish()
	}
	sum := func(s *Snapshot, name string) float64 {
		v := 0.0
		for _, x := range s.Families[name].Series {
			v += x.Sum
		}
		return v
	}
	// No calendar for "na": the default one. Friday 18:00 → Monday 09:30 is 30 business minutes.
	s := run("na", fri, time.Date(2026, 3, 9, 9, 30, 0, 0, time.UTC), fri.Add(100*time.Hour))
	if got := sum(s, metrics.FollowupLatency); got != 1800 || total(s, metrics.FollowupWithinSLA) != 1 {
		t.Errorf("default calendar: SLA time %v, within %v", got, total(s, metrics.FollowupWithinSLA))
	}
	if got := sum(s, metrics.SpeedToLead); got != (time.Hour + 63*time.Hour + 30*time.Minute).Seconds() {
		t.Errorf("speed to lead is calendar time from creation: got %v", got)
	}
	// emea: Berlin hours and Monday 9 March a holiday. Friday 15:00 Berlin → Tuesday 08:30 Berlin
	// is 1h on Friday + 30 min on Tuesday.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	mql := time.Date(2026, 3, 6, 15, 0, 0, 0, berlin)
	s = run("EMEA", mql, time.Date(2026, 3, 10, 8, 30, 0, 0, berlin), mql.Add(200*time.Hour))
	if got := sum(s, metrics.FollowupLatency); got != 5400 || total(s, metrics.FollowupOverSLA) != 1 {
		t.Errorf("region calendar: SLA time %v, over %v", got, total(s, metrics.FollowupOverSLA))
	}
	// Waiting over the weekend: Friday 16:30 UTC, now Monday 09:10 UTC = 40 business minutes.
	s = run("na", time.Date(2026, 3, 6, 16, 30, 0, 0, time.UTC), time.Time{}, time.Date(2026, 3, 9, 9, 10, 0, 0, time.UTC))
	if total(s, metrics.FollowupWaiting, metrics.SLAWithin) != 1 || total(s, metrics.FollowupOldestWait) != 2400 {
		t.Errorf("weekend wait: within %v, oldest %v", total(s, metrics.FollowupWaiting, metrics.SLAWithin), total(s, metrics.FollowupOldestWait))
	}
}

func TestAttemptsRule(t *testing.T) {
	cfg := testConfig(t, "sla: {attempts: {count: 2, within: 72h}}")
	lead := source.Lead{CreatedAt: t0, MQLAt: t0, Status: "Working"}
	call := func(d time.Duration) source.Activity { return source.Activity{Kind: "call", OccurredAt: at(d)} }
	cases := []struct {
		name        string
		acts        []source.Activity
		now         time.Time
		met, missed float64
	}{
		{"two touches inside the window", []source.Activity{call(time.Hour), call(50 * time.Hour)}, at(60 * time.Hour), 1, 0},
		{"second touch too late", []source.Activity{call(time.Hour), call(80 * time.Hour)}, at(90 * time.Hour), 0, 1},
		{"window still open", []source.Activity{call(time.Hour)}, at(10 * time.Hour), 0, 0},
		{"window closed with no touch", nil, at(73 * time.Hour), 0, 1},
		{"touches before the clock do not count", []source.Activity{{Kind: "call", OccurredAt: t0.Add(-time.Minute)}, call(time.Hour)}, at(73 * time.Hour), 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lead := lead
			lead.CreatedAt = t0.Add(-time.Hour)
			s := one(t, cfg, c.now, lead, c.acts, nil)
			if total(s, metrics.AttemptsMet) != c.met || total(s, metrics.AttemptsMissed) != c.missed {
				t.Fatalf("met %v missed %v, want %v %v", total(s, metrics.AttemptsMet), total(s, metrics.AttemptsMissed), c.met, c.missed)
			}
		})
	}
}

func TestMarketingSourcedAndInfluenced(t *testing.T) {
	cfg := testConfig(t, "")
	idx := &TouchIndex{Campaigns: map[int64]CampaignRef{7: {"paid_search", "brand"}}, ByLead: map[int64][]Touch{}}
	opp := source.Opportunity{Amount: 100000, CreatedAt: at(10 * 24 * time.Hour)} // 1000.00
	cases := []struct {
		name               string
		source             string
		touches            []Touch
		sourced, influence bool
	}{
		{"outbound lead, no touches: sales-sourced", "outbound", nil, false, false},
		{"organic lead, no touches: sourced by its source", "organic", nil, true, false},
		{"outbound lead whose first touch is a campaign touch", "outbound", []Touch{{At: at(time.Hour), Campaign: 7}}, true, true},
		{"outbound lead, first touch without a campaign, then a campaign touch", "outbound",
			[]Touch{{At: at(time.Hour), Campaign: 0}, {At: at(2 * time.Hour), Campaign: 7}}, false, true},
		{"a campaign touch only after the opportunity: no influence", "outbound", []Touch{{At: at(11 * 24 * time.Hour), Campaign: 7}}, false, false},
		{"unknown source, no touches", "", nil, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx.ByLead[1] = c.touches
			cr := NewCRM(cfg, NewFolder(cfg.Caps), at(20*24*time.Hour))
			cr.UseTouches(idx)
			cr.Lead(source.Lead{ID: 1, CreatedAt: t0, Source: c.source, Status: "SQL"})
			o := opp
			o.ID, o.LeadID = 1, 1
			cr.Opportunity(o)
			s := cr.Finish()
			want := func(yes bool) float64 {
				if yes {
					return 1000
				}
				return 0
			}
			if got := total(s, metrics.SourcedPipeline); got != want(c.sourced) {
				t.Errorf("sourced pipeline = %v, want %v", got, want(c.sourced))
			}
			if got := total(s, metrics.InfluencedPipeline); got != want(c.influence) {
				t.Errorf("influenced pipeline = %v, want %v", got, want(c.influence))
			}
		})
	}
}

func TestAttributionUnattributedAndConserved(t *testing.T) {
	cfg := testConfig(t, "")
	idx := &TouchIndex{Campaigns: map[int64]CampaignRef{7: {"paid_search", "brand"}, 8: {"email", "nurture"}}, ByLead: map[int64][]Touch{
		1: {{At: at(-time.Hour), Campaign: 7}, {At: at(time.Hour), Campaign: 8}, {At: at(30 * 24 * time.Hour), Campaign: 8}}, // last one after the win
	}}
	cr := NewCRM(cfg, NewFolder(cfg.Caps), at(40*24*time.Hour))
	cr.UseTouches(idx)
	cr.Lead(source.Lead{ID: 1, CreatedAt: t0, Source: "paid_search", Status: "Converted"})
	cr.Lead(source.Lead{ID: 2, CreatedAt: t0, Source: "referral", Status: "Converted"})
	cr.Opportunity(source.Opportunity{ID: 1, LeadID: 1, Amount: 100001, CreatedAt: at(2 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: at(5 * 24 * time.Hour)})
	cr.Opportunity(source.Opportunity{ID: 2, LeadID: 2, Amount: 5000, CreatedAt: at(2 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: at(5 * 24 * time.Hour)})
	s := cr.Finish()
	for _, m := range []string{"first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"} {
		if got := total(s, metrics.AttributedRevenue, m); math.Abs(got-1050.01) > 1e-9 {
			t.Errorf("%s: attributed + unattributed = %v, want 1050.01", m, got)
		}
		if got := total(s, metrics.AttributedRevenue, m, metrics.ValueUnattributed); got != 50 {
			t.Errorf("%s: unattributed = %v, want 50 (the lead without touches)", m, got)
		}
	}
	if got := total(s, metrics.AttributedRevenue, "first_touch", "brand"); got != 1000.01 {
		t.Errorf("first touch to brand = %v", got)
	}
	if got := total(s, metrics.AttributedRevenue, "last_touch", "nurture"); got != 1000.01 {
		t.Errorf("last touch before the win to nurture = %v (the touch after the win must not count)", got)
	}
	if got := total(s, metrics.CampaignLeads, "brand", "lead"); got != 1 {
		t.Errorf("lead produced by brand (its touch before creation) = %v", got)
	}
}
