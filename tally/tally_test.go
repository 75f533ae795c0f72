package tally

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/quantile"
	"github.com/tandem-oss/tandem/source"
)

func testConfig(t testing.TB, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte("databases: {crm: {dsn_env: X}}\n"+yml), "t.yml", func(string) string { return "postgres://x" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

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
			sum += x.Value(f.Def)
		}
	}
	return sum
}

// byWindow is a period metric's value in every window (summed over its other labels matching
// want).
func byWindow(s *Snapshot, name string, want ...string) map[fiscal.Window]float64 {
	out := map[fiscal.Window]float64{}
	for _, w := range fiscal.Windows() {
		out[w] = total(s, name, append([]string{string(w)}, want...)...)
	}
	return out
}

// inWindowsOf checks that a period metric is v in exactly the windows containing t at now, and
// 0 in the others.
func inWindowsOf(t *testing.T, cfg *config.Config, s *Snapshot, now, when time.Time, v float64, name string, want ...string) {
	t.Helper()
	spans := cfg.Calendar.Spans(now)
	mask := spans.Of(when)
	for i, w := range fiscal.Windows() {
		exp := 0.0
		if mask&(1<<i) != 0 {
			exp = v
		}
		if got := total(s, name, append([]string{string(w)}, want...)...); got != exp {
			t.Errorf("%s%v in %s (%s at now %s) = %v, want %v", name, want, w, when, now, got, exp)
		}
	}
}

// followCase is one lead's follow-up, relative to t0.
type followCase struct {
	name string
	lead source.Lead
	acts []source.Activity
	opps []source.Opportunity
	now  time.Time
	// outcome "within" or "breached" (dated at the deadline, t0+10m+1h), or "".
	outcome string
	// wait "within", "over" or "abandoned" now, or ""; oldest is the SLA time waited (seconds).
	wait           string
	oldest         float64
	recent         bool
	followupTime   float64 // seconds from clock start to the first touch; -1: none
	deadlineOffset time.Duration
}

func TestFollowUp(t *testing.T) {
	cfg := testConfig(t, "")
	lead := source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), Source: "paid_search", Status: "MQL", OwnerID: 1}
	call := func(d time.Duration) source.Activity { return source.Activity{Kind: "call", OccurredAt: at(d)} }
	due := 70 * time.Minute // clock start (MQL at +10m) + 1h
	cases := []followCase{
		{name: "touched within the hour", lead: lead, acts: []source.Activity{call(40 * time.Minute)}, now: at(48 * time.Hour), outcome: "within", followupTime: 30 * 60},
		{name: "touched exactly at the deadline", lead: lead, acts: []source.Activity{call(70 * time.Minute)}, now: at(48 * time.Hour), outcome: "within", followupTime: 3600},
		{name: "touched a second late: breached at the deadline", lead: lead, acts: []source.Activity{call(70*time.Minute + time.Second)}, now: at(48 * time.Hour), outcome: "breached", followupTime: 3601},
		{name: "the first qualifying touch counts, not the first row", lead: lead,
			acts: []source.Activity{call(5 * time.Hour), call(20 * time.Minute)}, now: at(48 * time.Hour), outcome: "within", followupTime: 600},
		{name: "a touch before the clock starts is not follow-up", lead: lead,
			acts: []source.Activity{call(5 * time.Minute), call(3 * time.Hour)}, now: at(48 * time.Hour), outcome: "breached", followupTime: 3*3600 - 600},
		{name: "kinds that are not touches do not stop the clock", lead: lead,
			acts: []source.Activity{{Kind: "note", OccurredAt: at(15 * time.Minute)}}, now: at(30 * time.Minute), wait: "within", oldest: 20 * 60, followupTime: -1},
		{name: "kind matching ignores case", lead: lead,
			acts: []source.Activity{{Kind: " Email ", OccurredAt: at(15 * time.Minute)}}, now: at(30 * time.Minute), outcome: "within", followupTime: 300},
		{name: "waiting before the deadline: no outcome yet", lead: lead, now: at(40 * time.Minute), wait: "within", oldest: 30 * 60, followupTime: -1},
		{name: "the deadline passed untouched: a breach, and it pages", lead: lead, now: at(3 * time.Hour), outcome: "breached", wait: "over", oldest: 3*3600 - 600, recent: true, followupTime: -1},
		{name: "past the page window: a breach, not a page", lead: lead, now: at(30 * time.Hour), outcome: "breached", wait: "over", oldest: 30*3600 - 600, followupTime: -1},
		{name: "ignored past waiting_max_age: abandoned, and still breached", lead: lead, now: at(40 * 24 * time.Hour), outcome: "breached", wait: "abandoned", followupTime: -1},
		{name: "no clock before MQL", lead: source.Lead{CreatedAt: t0, Status: "New", OwnerID: 1}, now: at(3 * time.Hour), followupTime: -1},
		{name: "disqualified before the deadline: owed no touch", lead: source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), DisqualifiedAt: at(time.Hour), Status: "Disqualified"}, now: at(3 * time.Hour), followupTime: -1},
		{name: "disqualified after the deadline, untouched: breached", lead: source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), DisqualifiedAt: at(2 * time.Hour), Status: "Disqualified"}, now: at(3 * time.Hour), outcome: "breached", followupTime: -1},
		{name: "a deal before the deadline: owed no touch", lead: lead, opps: []source.Opportunity{{Amount: 100, CreatedAt: at(time.Hour)}}, now: at(3 * time.Hour), followupTime: -1},
		{name: "a lead in a terminal status does not wait", lead: source.Lead{CreatedAt: t0, MQLAt: at(time.Minute), Status: "customer"}, now: at(3 * time.Hour), followupTime: -1},
		{name: "a clock start in the future has not started", lead: lead, now: at(5 * time.Minute), followupTime: -1},
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
				followUpCase(t, cfg, c, at(due).Add(shift), c.lead.MQLAt)
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

func followUpCase(t *testing.T, cfg *config.Config, c followCase, due, start time.Time) {
	t.Helper()
	s := one(t, cfg, c.now, c.lead, c.acts, c.opps)
	within, breached := 0.0, 0.0
	switch c.outcome {
	case "within":
		within = 1
	case "breached":
		breached = 1
	}
	inWindowsOf(t, cfg, s, c.now, due, within, metrics.FollowupWithinSLA)
	inWindowsOf(t, cfg, s, c.now, due, breached, metrics.FollowupBreached)
	check := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	waitWithin, waitOver, abandoned, recent := 0.0, 0.0, 0.0, 0.0
	switch c.wait {
	case "within":
		waitWithin = 1
	case "over":
		waitOver = 1
	case "abandoned":
		abandoned = 1
	}
	if c.recent {
		recent = 1
	}
	check("waiting within", total(s, metrics.FollowupWaiting, metrics.SLAWithin), waitWithin)
	check("waiting over", total(s, metrics.FollowupWaiting, metrics.SLAOver), waitOver)
	check("abandoned", total(s, metrics.FollowupAbandoned), abandoned)
	check("oldest wait", total(s, metrics.FollowupOldestWait), c.oldest)
	check("recently breached", total(s, metrics.RecentlyBreached), recent)
	if c.recent {
		check("oldest recent breach", total(s, metrics.RecentlyBreachedOldest), c.oldest)
	}
	// The time to first touch is a quantile over the leads whose clock started in the window.
	if c.followupTime >= 0 {
		inWindowsOf(t, cfg, s, c.now, start, c.followupTime, metrics.FollowupTime, "50")
	} else if n := len(s.Families[metrics.FollowupTime].Series); n != 0 {
		t.Errorf("%d follow-up time series for a lead without a follow-up", n)
	}
}

func TestClockStartConfigurable(t *testing.T) {
	cfg := testConfig(t, "sla: {clock_start: lead, target: 15m}")
	s := one(t, cfg, at(time.Hour), source.Lead{CreatedAt: t0, MQLAt: at(10 * time.Minute), Status: "MQL"},
		[]source.Activity{{Kind: "call", OccurredAt: at(20 * time.Minute)}}, nil)
	if total(s, metrics.FollowupBreached, "today") != 1 {
		t.Fatal("from lead creation, a touch after 20 minutes breaches a 15-minute SLA")
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
	s := one(t, cfg, at(24*time.Hour), l, nil, opps) // the next day: these rows are yesterday's
	for _, c := range []struct {
		name  string
		want  float64
		label []string
	}{
		{metrics.FunnelStageEntered, 1, []string{"yesterday", "opportunity"}}, // one lead, three deals: once
		{metrics.FunnelStageEntered, 1, []string{"yesterday", "won"}},
		{metrics.FunnelStageEntered, 0, []string{"yesterday", "lost"}}, // a deal is still open, and one won
		{metrics.FunnelStageEntered, 0, []string{"today", "won"}},
		{metrics.LeadsCreated, 1, []string{"this_week", "paid_search"}}, // source trimmed
		{metrics.LeadsCreated, 0, []string{"last_week"}},
		{metrics.OpportunitiesCreated, 3, []string{"this_month"}},      // the JPY deal has no rate: skipped
		{metrics.OpportunitiesWonAmt, 15.02, []string{"this_quarter"}}, // 10.01 EUR × 1.5 = 15.015 → 15.02
		{metrics.OpportunitiesLostAmt, 5, []string{"yesterday"}},
		{metrics.OpportunitiesOpenAmt, 7, []string{"Proposal"}},
		{metrics.Leads, 1, []string{"won"}}, // any won deal makes the lead won
		{metrics.RevenueWon, 15.02, []string{"this_year"}},
		{metrics.RevenueWon, 0, []string{"today"}},
		{metrics.PipelineOpen, 7, []string{"this_quarter"}},
		{metrics.PipelineOpen, 7, []string{"this_month"}},
		{metrics.PipelineOpen, 0, []string{"this_week"}}, // 30 March is next week
		{metrics.RevenueTarget, 250, []string{"this_quarter"}},
		{metrics.RevenueTarget, 1000, []string{"this_year"}},
		{metrics.RevenueTarget, 0, []string{"last_year"}}, // no target for FY2025
		{metrics.TargetMissing, 0, []string{"this_quarter"}},
	} {
		if got := total(s, c.name, c.label...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.label, got, c.want)
		}
	}
	if s.Problems[Problem{source.QueryOpportunities, CheckCurrencyWithoutRate}] != 1 {
		t.Errorf("problems = %v", s.Problems)
	}
	// Money is exact: 15.02 is published as 15.02, from 1502 cents.
	for _, x := range s.Families[metrics.OpportunitiesWonAmt].Series {
		if x.IsFloat || (x.N != 0 && x.N != 1502) {
			t.Errorf("won amount kept as %+v, not whole cents", *x)
		}
	}
}

// The period counts of a label set are published in every window, 0 where no row falls: a true
// zero, and nothing appears or vanishes when a period ends.
func TestPeriodsZeroFilledAndNoNaN(t *testing.T) {
	cfg := testConfig(t, "")
	s := one(t, cfg, at(400*24*time.Hour), source.Lead{CreatedAt: t0, MQLAt: at(time.Hour), Status: "MQL", Source: "webinar"}, nil, nil)
	got := byWindow(s, metrics.LeadsCreated)
	for _, w := range fiscal.Windows() {
		x := s.Families[metrics.LeadsCreated].Series[key([]string{string(w), "webinar", "unknown", "unknown"})]
		if x == nil {
			t.Errorf("no %s series for %s", metrics.LeadsCreated, w)
		}
	}
	if got[fiscal.LastYear] != 1 || got[fiscal.ThisYear] != 0 {
		t.Errorf("a lead of FY2026 seen from 2027: %v", got)
	}
	for _, f := range s.Families {
		for _, x := range f.Series {
			if math.IsNaN(x.Value(f.Def)) || math.IsInf(x.Value(f.Def), 0) {
				t.Errorf("%s%v = %v", f.Def.Name, x.Labels, x.Value(f.Def))
			}
		}
	}
}

func TestCohorts(t *testing.T) {
	cfg := testConfig(t, "")
	now := at(20 * 24 * time.Hour)
	c := NewCRM(cfg, NewFolder(cfg.Caps), now)
	// 1: MQL, no SQL timestamp, but a deal that was won: it reached SQL and opportunity.
	c.Lead(source.Lead{ID: 1, CreatedAt: t0, MQLAt: at(time.Hour), Status: "Converted"})
	c.Opportunity(source.Opportunity{ID: 1, LeadID: 1, Amount: 100, CreatedAt: at(3 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: at(10 * 24 * time.Hour)})
	// 2: a lead that became SQL without ever being an MQL: not in the MQL cohort.
	c.Lead(source.Lead{ID: 2, CreatedAt: t0, SQLAt: at(2 * time.Hour), Status: "SQL"})
	// 3: an MQL that was disqualified.
	c.Lead(source.Lead{ID: 3, CreatedAt: t0, MQLAt: at(time.Hour), DisqualifiedAt: at(5 * time.Hour), DisqualifiedReason: "no budget", Status: "Disqualified"})
	s := c.Finish()
	w := "this_quarter"
	// Lead 2 reached SQL without an MQL timestamp: on the path it passed MQL, so it counts in
	// lead_to_mql (reached at its SQL time) and, entering MQL and SQL at once, in mql_to_sql.
	want := map[string][3]float64{ // cohort, converted, median time to convert (seconds)
		"lead_to_mql":        {3, 3, 3600},
		"lead_to_sql":        {3, 2, 2.5 * 3600},
		"lead_to_won":        {3, 1, 10 * 24 * 3600},
		"mql_to_sql":         {3, 2, 3600},
		"sql_to_opportunity": {2, 1, 0},
		"opportunity_to_won": {1, 1, 10*24*3600 - 3*3600},
	}
	for step, v := range want {
		cohort, conv := total(s, metrics.CohortLeads, w, step), total(s, metrics.CohortConverted, w, step)
		med := total(s, metrics.FunnelVelocity, w, step, "50")
		if cohort != v[0] || conv != v[1] || med != v[2] {
			t.Errorf("%s: cohort %v converted %v median %v, want %v", step, cohort, conv, med, v)
		}
		if conv > cohort {
			t.Errorf("%s: a conversion above 1", step)
		}
	}
	// The funnel of the period's leads never widens.
	prev := total(s, metrics.CohortLeads, w, "lead_to_mql")
	for _, step := range []string{"lead_to_mql", "lead_to_sql", "lead_to_opportunity", "lead_to_won"} {
		if n := total(s, metrics.CohortConverted, w, step); n > prev {
			t.Errorf("the funnel widens at %s: %v > %v", step, n, prev)
		} else {
			prev = n
		}
	}
	if got := total(s, metrics.LeadsDisqualified, w, "no budget"); got != 1 {
		t.Errorf("disqualified = %v", got)
	}
	if got := total(s, metrics.FunnelStageEntered, w, "sql"); got != 1 {
		t.Errorf("entered SQL by its own timestamp = %v, want 1 (lead 2)", got)
	}
}

func TestDataQuality(t *testing.T) {
	cfg := testConfig(t, "")
	c := NewCRM(cfg, NewFolder(cfg.Caps), at(time.Hour))
	c.Lead(source.Lead{ID: 1, CreatedAt: t0, Status: "New", OwnerID: 99})
	c.Lead(source.Lead{ID: 1, CreatedAt: t0, Status: "New", Source: "x"})
	c.Lead(source.Lead{ID: 2, CreatedAt: t0, Status: "Nurture", Source: "x"})
	c.Lead(source.Lead{ID: 3, CreatedAt: t0, MQLAt: at(48 * time.Hour), Status: "MQL", Source: "x"}) // MQL in the future
	c.Activity(source.Activity{ID: 1, LeadID: 4, Kind: "call", OccurredAt: t0})
	c.Activity(source.Activity{ID: 2, LeadID: 1, Kind: "call", OccurredAt: t0.Add(-time.Second)})
	c.Activity(source.Activity{ID: 2, LeadID: 1, Kind: "call", OccurredAt: t0})
	c.Opportunity(source.Opportunity{ID: 1, LeadID: 42, Amount: 100, CreatedAt: t0, IsWon: true})
	s := c.Finish()
	want := map[Problem]int{
		{source.QueryLeads, CheckDuplicateID}:                 1,
		{source.QueryLeads, CheckNullSource}:                  1,
		{source.QueryLeads, CheckUnknownOwner}:                1,
		{source.QueryLeads, CheckUnknownStatus}:               1,
		{source.QueryLeads, CheckTimestampInFuture}:           1,
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
	if got := total(s, metrics.OpportunitiesCreated, "today", metrics.ValueUnknown); got != 1 {
		t.Errorf("a deal without a known lead still counts, with unknown dimensions: got %v", got)
	}
	if got := total(s, metrics.RevenueWon); got != 0 {
		t.Errorf("a won deal without a close time is in no period's revenue: got %v", got)
	}
	if got := total(s, metrics.LeadsCreated, "today"); got != 3 {
		t.Errorf("leads created = %v, want 3 (the duplicate skipped)", got)
	}
	if got := total(s, metrics.FunnelStageEntered, "today", "mql"); got != 0 {
		t.Errorf("an MQL time in the future is not an MQL yet: %v", got)
	}
	if !c.Volatile()[3] {
		t.Error("a lead with a stage dated in the future is not tallied again as time passes")
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
	// No calendar for "na": the default one. Friday 18:00 → Monday 09:30 is 30 business minutes;
	// the deadline is Monday 10:00, so the breach or not is dated Monday.
	mon := time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC)
	now := fri.Add(100 * time.Hour)
	s := run("na", fri, time.Date(2026, 3, 9, 9, 30, 0, 0, time.UTC), now)
	if got := total(s, metrics.FollowupTime, "last_week", "50"); got != 1800 { // by clock start
		t.Errorf("default calendar: SLA time %v", got)
	}
	inWindowsOf(t, cfg, s, now, mon, 1, metrics.FollowupWithinSLA)
	if got := total(s, metrics.SpeedToLead, "last_week", "50"); got != (time.Hour + 63*time.Hour + 30*time.Minute).Seconds() {
		t.Errorf("speed to lead is calendar time from creation, in the week of creation: got %v", got)
	}
	// emea: Berlin hours and Monday 9 March a holiday. Friday 15:00 Berlin → Tuesday 08:30 Berlin
	// is 1h on Friday + 30 min on Tuesday: the 1h deadline was Friday 16:00, breached then.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	mql := time.Date(2026, 3, 6, 15, 0, 0, 0, berlin)
	now = mql.Add(200 * time.Hour)
	s = run("EMEA", mql, time.Date(2026, 3, 10, 8, 30, 0, 0, berlin), now)
	if got := total(s, metrics.FollowupTime, "last_week", "50"); got != 5400 {
		t.Errorf("region calendar: SLA time %v", got)
	}
	inWindowsOf(t, cfg, s, now, time.Date(2026, 3, 6, 16, 0, 0, 0, berlin), 1, metrics.FollowupBreached)
	// Waiting over the weekend: Friday 16:30 UTC, now Monday 09:10 UTC = 40 business minutes,
	// within the SLA: due Monday 09:30.
	s = run("na", time.Date(2026, 3, 6, 16, 30, 0, 0, time.UTC), time.Time{}, time.Date(2026, 3, 9, 9, 10, 0, 0, time.UTC))
	if total(s, metrics.FollowupWaiting, metrics.SLAWithin) != 1 || total(s, metrics.FollowupOldestWait) != 2400 || total(s, metrics.FollowupBreached) != 0 {
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
			end := t0.Add(72 * time.Hour) // dated at the window's end
			inWindowsOf(t, cfg, s, c.now, end, c.met, metrics.AttemptsMet)
			inWindowsOf(t, cfg, s, c.now, end, c.missed, metrics.AttemptsMissed)
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
		{"outbound lead whose first touch is a campaign touch", "outbound", []Touch{{At: at(time.Hour).UnixNano(), Campaign: 7}}, true, true},
		{"outbound lead, first touch without a campaign, then a campaign touch", "outbound",
			[]Touch{{At: at(time.Hour).UnixNano(), Campaign: 0}, {At: at(2 * time.Hour).UnixNano(), Campaign: 7}}, false, true},
		{"a campaign touch only after the opportunity: no influence", "outbound", []Touch{{At: at(11 * 24 * time.Hour).UnixNano(), Campaign: 7}}, false, false},
		{"unknown source, no touches", "", nil, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx.ByLead[1] = c.touches
			for _, won := range []bool{false, true} {
				now := at(20 * 24 * time.Hour)
				cr := NewCRM(cfg, NewFolder(cfg.Caps), now)
				cr.UseTouches(idx)
				cr.Lead(source.Lead{ID: 1, CreatedAt: t0, Source: c.source, Status: "SQL"})
				o := opp
				o.ID, o.LeadID = 1, 1
				if won {
					o.IsClosed, o.IsWon, o.ClosedAt = true, true, at(15*24*time.Hour)
				}
				cr.Opportunity(o)
				s := cr.Finish()
				want := func(yes bool) float64 {
					if yes {
						return 1000
					}
					return 0
				}
				if !won {
					if got := total(s, metrics.SourcedPipeline); got != want(c.sourced) {
						t.Errorf("sourced pipeline = %v, want %v", got, want(c.sourced))
					}
					if got := total(s, metrics.InfluencedPipeline); got != want(c.influence) {
						t.Errorf("influenced pipeline = %v, want %v", got, want(c.influence))
					}
					continue
				}
				inWindowsOf(t, cfg, s, now, o.ClosedAt, want(c.sourced), metrics.SourcedRevenue)
				inWindowsOf(t, cfg, s, now, o.ClosedAt, want(c.influence), metrics.InfluencedRevenue)
			}
		})
	}
}

func TestAttributionUnattributedAndConserved(t *testing.T) {
	cfg := testConfig(t, "")
	idx := &TouchIndex{Campaigns: map[int64]CampaignRef{7: {"paid_search", "brand"}, 8: {"email", "nurture"}}, ByLead: map[int64][]Touch{
		1: {{At: at(-time.Hour).UnixNano(), Campaign: 7}, {At: at(time.Hour).UnixNano(), Campaign: 8}, {At: at(30 * 24 * time.Hour).UnixNano(), Campaign: 8}}, // last one after the win
	}}
	now := at(40 * 24 * time.Hour)
	cr := NewCRM(cfg, NewFolder(cfg.Caps), now)
	cr.UseTouches(idx)
	cr.Lead(source.Lead{ID: 1, CreatedAt: t0, Source: "paid_search", Status: "Converted"})
	cr.Lead(source.Lead{ID: 2, CreatedAt: t0, Source: "referral", Status: "Converted"})
	won := at(5 * 24 * time.Hour)
	cr.Opportunity(source.Opportunity{ID: 1, LeadID: 1, Amount: 100001, CreatedAt: at(2 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: won})
	cr.Opportunity(source.Opportunity{ID: 2, LeadID: 2, Amount: 5000, CreatedAt: at(2 * time.Hour), IsClosed: true, IsWon: true, ClosedAt: won})
	s := cr.Finish()
	for _, m := range []string{"first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"} {
		inWindowsOf(t, cfg, s, now, won, 1050.01, metrics.AttributedRevenue, m)
		inWindowsOf(t, cfg, s, now, won, 50, metrics.AttributedRevenue, m, metrics.ValueUnattributed)
		for _, x := range s.Families[metrics.AttributedRevenue].Series {
			if x.IsFloat {
				t.Fatalf("attributed revenue kept as a float: %+v", *x)
			}
		}
	}
	if got := total(s, metrics.AttributedRevenue, "this_year", "first_touch", "brand"); got != 1000.01 {
		t.Errorf("first touch to brand = %v", got)
	}
	if got := total(s, metrics.AttributedRevenue, "this_year", "last_touch", "nurture"); got != 1000.01 {
		t.Errorf("last touch before the win to nurture = %v (the touch after the win must not count)", got)
	}
	// Linear: 100001 cents over two touches is 50001 + 50000, not two halves of a cent.
	if got := total(s, metrics.AttributedRevenue, "this_year", "linear", "brand"); got != 500.01 {
		t.Errorf("linear to brand = %v", got)
	}
	if got := total(s, metrics.CampaignLeads, "this_year", "brand", "lead"); got != 1 {
		t.Errorf("lead produced by brand (its touch before creation) = %v", got)
	}
}

// The inflow windows: marketing leads of the last hour and of the same hour a week earlier; a
// lead from a sales source or without one is not marketing's.
func TestMarketingLeadsArrived(t *testing.T) {
	cfg := testConfig(t, "")
	now := at(30 * 24 * time.Hour)
	c := NewCRM(cfg, NewFolder(cfg.Caps), now)
	for i, l := range []struct {
		ago    time.Duration
		source string
	}{
		{10 * time.Minute, "webinar"}, {59 * time.Minute, "webinar"}, {61 * time.Minute, "webinar"},
		{7*24*time.Hour + 30*time.Minute, "webinar"}, {7*24*time.Hour + 2*time.Hour, "webinar"},
		{5 * time.Minute, "outbound"}, {5 * time.Minute, ""},
	} {
		c.Lead(source.Lead{ID: int64(i + 1), CreatedAt: now.Add(-l.ago), Source: l.source, Status: "New"})
	}
	s := c.Finish()
	if got := total(s, metrics.MarketingLeadsArrived, metrics.WindowLastHour, "webinar"); got != 2 {
		t.Errorf("last hour = %v, want 2", got)
	}
	if got := total(s, metrics.MarketingLeadsArrived, metrics.WindowSameHourLastWeek); got != 1 {
		t.Errorf("same hour last week = %v, want 1", got)
	}
	for _, x := range s.Families[metrics.MarketingLeadsArrived].Series {
		if src := x.Labels[1]; src != "webinar" { // window, source, then the sales dimensions
			t.Errorf("a lead from source %q counted as marketing's: %v", src, x.Labels)
		}
	}
}

// TestQuantileMemo: a live tally's published quantiles are kept while the sets of their series
// hold the same values, and computed again, equal to the sets' quantiles, once one changes.
func TestQuantileMemo(t *testing.T) {
	d := metrics.Def{Name: "tandem_test_seconds", Labels: []string{metrics.LabelPercentile}, Quantile: true}
	a, b := &quantile.Set{}, &quantile.Set{}
	for v := range 100 {
		a.Add(float64(v), 1)
		b.Add(float64(1000+v), 1)
	}
	reversed := false
	sets := func() map[string]*windowSet {
		ss := []*quantile.Set{a, b}
		if reversed { // the series' sets come from a map, in any order
			ss = []*quantile.Set{b, a}
		}
		return map[string]*windowSet{"w": {labels: []string{"this_year"}, sets: ss}}
	}
	memo := &quantileMemo{m: map[string]map[string]memoized{}}
	check := func(when string) []float64 {
		out := quantileSeries(d, sets(), memo)
		for i, p := range metrics.Percentiles {
			want := quantile.QuantileOf([]*quantile.Set{a, b}, float64(p)/100)
			if got := out[key([]string{metrics.PercentileLabel(p), "this_year"})]; got == nil || got.F != want {
				t.Fatalf("%s: p%d = %+v, want %v", when, p, got, want)
			}
			if q := memo.m[d.Name]["w"].q; q[i] != want {
				t.Fatalf("%s: memo holds p%d = %v, want %v", when, p, q[i], want)
			}
		}
		return memo.m[d.Name]["w"].q
	}
	first := check("first publish")
	if again := check("unchanged"); &again[0] != &first[0] {
		t.Error("the quantiles of unchanged sets were computed again")
	}
	reversed = true
	if again := check("the same sets in another order"); &again[0] != &first[0] {
		t.Error("the quantiles of the same sets in another order were computed again")
	}
	b = b.Clone() // the same values
	if again := check("a set replaced by its clone"); &again[0] != &first[0] {
		t.Error("the quantiles were computed again for a clone holding the same values")
	}
	a.Add(5000, 3)
	if changed := check("a set changed"); &changed[0] == &first[0] {
		t.Error("the quantiles of a changed set were kept")
	}
}

// TestTouchCountsThroughSlots: marketing touchpoints are counted by window, channel and kind as
// each row says, through Campaigns' slot cache: with more keys than slots (kinds made anew for
// each row, at other addresses than their equals), and with kinds over their cap, where the
// most frequent are admitted and the rest publish as "other".
func TestTouchCountsThroughSlots(t *testing.T) {
	for _, kinds := range []int{40, 1500} {
		cap := 1000
		cfg := testConfig(t, fmt.Sprintf("labels: {kind: {max_values: %d}}", cap))
		now := time.Date(2026, 3, 27, 10, 0, 0, 0, time.UTC)
		r := rand.New(rand.NewSource(int64(kinds)))
		c := NewCampaigns(cfg, NewFolder(cfg.Caps), now)
		channels := []string{"email", "social", "paid_search"}
		for id := int64(1); id <= 6; id++ {
			c.Campaign(source.Campaign{ID: id, Name: fmt.Sprint("c", id), Channel: channels[id%3], Currency: "USD"})
		}
		type key struct{ win, channel, kind string }
		want := map[key]int64{}
		freq := map[string]int{}
		var rows []source.Touchpoint
		for id := int64(1); id <= 20000; id++ {
			// Kinds skewed, so that the admitted ones are clearly the most frequent.
			k := int(math.Sqrt(float64(r.Intn(kinds * kinds))))
			kind := "kind-" + strconv.Itoa(kinds-1-k) // a new string each row
			campaign := int64(r.Intn(7))              // 0: none
			at := now.Add(-time.Duration(r.Int63n(int64(400 * 24 * time.Hour))))
			rows = append(rows, source.Touchpoint{ID: id, LeadID: id % 977, CampaignID: campaign, Kind: kind, OccurredAt: at})
			freq[kind]++
		}
		for _, x := range rows {
			c.Touchpoint(x)
		}
		// The admitted kinds: the most frequent cap, ties by name (Folder.Admit).
		byFreq := slices.Collect(maps.Keys(freq))
		slices.SortFunc(byFreq, func(a, b string) int {
			if freq[a] != freq[b] {
				return cmp.Compare(freq[b], freq[a])
			}
			return cmp.Compare(a, b)
		})
		admitted := map[string]bool{}
		for _, k := range byFreq[:min(cap, len(byFreq))] {
			admitted[k] = true
		}
		spans := cfg.Calendar.Spans(now)
		for _, x := range rows {
			ch := metrics.ValueUnknown
			if x.CampaignID != 0 {
				ch = channels[x.CampaignID%3]
			}
			kind := x.Kind
			if !admitted[kind] {
				kind = metrics.ValueOther
			}
			spans.Of(x.OccurredAt).Each(func(i int) { want[key{string(spans[i].Window), ch, kind}]++ })
		}
		s := c.Finish()
		got := map[key]int64{}
		for _, x := range s.Families[metrics.MarketingTouchpoints].Series {
			if x.N != 0 { // published at 0 in the windows the series has none in
				got[key{x.Labels[0], x.Labels[1], x.Labels[2]}] = x.N
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("%d kinds: %d touchpoint series, want %d", kinds, len(got), len(want))
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%d kinds: %v = %d, want %d", kinds, k, got[k], w)
					break
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%d kinds: %v = %d, want none", kinds, k, g)
					break
				}
			}
		}
	}
}

// TestActivityKindsAdmittedMostFrequentFirst: with more activity kinds than the kind label's cap,
// the kinds admitted are the most frequent over every tally admitted together (the live tally's
// rounds split the leads), not the first by name nor any one tally's own most frequent, and raw
// kinds that clean to one value count as one.
func TestActivityKindsAdmittedMostFrequentFirst(t *testing.T) {
	cfg := testConfig(t, "labels: {kind: {max_values: 3}}")
	now := at(2 * time.Hour)
	folder := NewFolder(cfg.Caps)
	a, b := NewCRM(cfg, folder, now), NewCRM(cfg, folder, now)
	// By name the first three are call, chat, demo; by count, over both tallies, call (9),
	// email (8: three spellings) and meeting (7); demo (6) is the first of tally a alone.
	counts := []struct {
		c    *CRM
		kind string
		n    int
	}{
		{a, "demo", 6}, {a, "call", 2}, {a, "Email", 3}, {a, "chat", 1},
		{b, "call", 7}, {b, " email ", 2}, {b, "email", 3}, {b, "meeting", 7}, {b, "visit", 5},
	}
	var id int64
	leads := map[*CRM]bool{}
	for _, x := range counts {
		if !leads[x.c] {
			leads[x.c] = true
			lead := int64(len(leads))
			x.c.Lead(source.Lead{ID: lead, CreatedAt: t0, Status: "New", Source: "web"})
		}
		for range x.n {
			id++
			lead := int64(1)
			if x.c == b {
				lead = 2
			}
			x.c.Activity(source.Activity{ID: id, LeadID: lead, Kind: strings.Clone(x.kind), OccurredAt: at(time.Hour)})
		}
	}
	admit(folder, a, b)
	got := map[string]int64{}
	for _, c := range []*CRM{a, b} {
		for _, x := range c.Finish().Families[metrics.SalesTouches].Series {
			if x.Labels[0] == "today" {
				got[x.Labels[1]] += x.N
			}
		}
	}
	want := map[string]int64{"call": 9, "email": 8, "meeting": 7, metrics.ValueOther: 12}
	if !maps.Equal(got, want) {
		t.Errorf("sales touches today by kind = %v, want %v", got, want)
	}
}
