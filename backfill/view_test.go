package backfill

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

var t0 = time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)

func h(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

func TestLeadAt(t *testing.T) {
	full := source.Lead{ID: 1, CreatedAt: h(-10), MQLAt: h(-5), SQLAt: h(2), DisqualifiedAt: h(5), DisqualifiedReason: "budget", Status: "Disqualified"}
	cases := []struct {
		name      string
		lead      source.Lead
		at        time.Time
		laterDeal bool
		ok        bool
		want      source.Lead
	}{
		{"not created yet", full, h(-11), false, false, source.Lead{}},
		{"created at the instant exists", full, h(-10), false, true, source.Lead{ID: 1, CreatedAt: h(-10)}},
		{"mql reached, later stages not", full, h(0), false, true, source.Lead{ID: 1, CreatedAt: h(-10), MQLAt: h(-5)}},
		{"sql reached, not yet disqualified", full, h(3), false, true, source.Lead{ID: 1, CreatedAt: h(-10), MQLAt: h(-5), SQLAt: h(2)}},
		{"everything happened: the lead as it is", full, h(5), false, true, full},
		{"a deal still to change: status unknown", full, h(6), true, true, source.Lead{ID: 1, CreatedAt: h(-10), MQLAt: h(-5), SQLAt: h(2), DisqualifiedAt: h(5), DisqualifiedReason: "budget"}},
		{"untouched lead keeps its status", source.Lead{ID: 2, CreatedAt: h(-1), Status: "New"}, h(0), false, true, source.Lead{ID: 2, CreatedAt: h(-1), Status: "New"}},
	}
	for _, c := range cases {
		got, ok := LeadAt(c.lead, c.at, c.laterDeal)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: LeadAt = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestOpportunityAt(t *testing.T) {
	won := source.Opportunity{ID: 7, LeadID: 1, CreatedAt: h(-48), ClosedAt: h(1), IsClosed: true, IsWon: true, Stage: "Closed Won", Amount: 100}
	cases := []struct {
		name string
		at   time.Time
		ok   bool
		want source.Opportunity
	}{
		{"before creation", h(-49), false, source.Opportunity{}},
		{"open until it closed, stage unknown", h(0), true, source.Opportunity{ID: 7, LeadID: 1, CreatedAt: h(-48), Amount: 100}},
		{"closed at the instant", h(1), true, won},
		{"after", h(100), true, won},
	}
	for _, c := range cases {
		got, ok := OpportunityAt(won, c.at)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: OpportunityAt = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestRowsAt(t *testing.T) {
	day := func(y int, m time.Month, d int) source.CampaignStat {
		return source.CampaignStat{CampaignID: 1, Day: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
	}
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"a stat day begun in UTC", StatAt(day(2028, 2, 29), t0), true},
		{"the next day, begun at UTC+14 by 10:00 UTC", StatAt(day(2028, 3, 1), h(-2)), true},
		{"the next day, not begun anywhere at 09:59 UTC", StatAt(day(2028, 3, 1), h(-2).Add(-time.Minute)), false},
		{"an activity at the instant occurred", ActivityAt(source.Activity{OccurredAt: t0}, t0), true},
		{"an activity a second later did not", ActivityAt(source.Activity{OccurredAt: t0.Add(time.Second)}, t0), false},
		{"a touch before", TouchpointAt(source.Touchpoint{OccurredAt: h(-1)}, t0), true},
		{"a touch after", TouchpointAt(source.Touchpoint{OccurredAt: h(1)}, t0), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestInstants(t *testing.T) {
	day := 24 * time.Hour
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		name         string
		plan         Plan
		end          time.Time
		n            int
		first, last  time.Time
		hourlyFrom   time.Time
		wantStepping bool
	}{
		{"default plan", DefaultPlan, time.Date(2026, 12, 3, 0, 20, 30, 0, time.UTC), 365 + 35*24 + 1,
			time.Date(2025, 10, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 0, 20, 29, 0, time.UTC), time.Date(2026, 10, 29, 1, 0, 0, 0, time.UTC), true},
		{"leap day, end aligned", Plan{Range: 3 * day, Step: day, Recent: day, RecentStep: time.Hour}, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), 2 + 24 + 1,
			time.Date(2028, 2, 27, 0, 0, 0, 0, time.UTC), time.Date(2028, 2, 29, 23, 59, 59, 0, time.UTC), time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"DST fall-back day in New York: hours are UTC hours", Plan{Range: day, Step: day, Recent: day, RecentStep: time.Hour}, time.Date(2026, 11, 2, 0, 0, 0, 0, ny), 25,
			time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 4, 59, 59, 0, time.UTC), time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), true},
		{"recent longer than the range", Plan{Range: 2 * time.Hour, Step: day, Recent: day, RecentStep: time.Hour}, time.Date(2028, 1, 1, 10, 30, 0, 0, time.UTC), 3,
			time.Date(2028, 1, 1, 9, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 10, 29, 59, 0, time.UTC), time.Date(2028, 1, 1, 9, 0, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		got := c.plan.Instants(c.end)
		if len(got) != c.n || !got[0].Equal(c.first) || !got[len(got)-1].Equal(c.last) {
			t.Errorf("%s: %d instants %s .. %s; want %d, %s .. %s", c.name, len(got), got[0], got[len(got)-1], c.n, c.first, c.last)
			continue
		}
		for i := 1; i < len(got); i++ {
			if !got[i].After(got[i-1]) || !got[i].Before(c.end) || got[i].Before(c.end.Add(-c.plan.Range)) {
				t.Errorf("%s: instant %d (%s) out of order or outside the range", c.name, i, got[i])
			}
			if !got[i-1].Before(c.hourlyFrom) && i < len(got)-1 && got[i].Sub(got[i-1]) > c.plan.RecentStep {
				t.Errorf("%s: a gap before %s in the recent span", c.name, got[i])
			}
		}
	}
}

func TestPlanValidateNamesTheFlag(t *testing.T) {
	for _, c := range []struct {
		flag string
		p    Plan
	}{
		{"--backfill.range", Plan{Step: 1, RecentStep: 1}},
		{"--backfill.range", Plan{Range: 51 * 365 * 24 * time.Hour, Step: 1, RecentStep: 1}}, // past the int32 event seconds
		{"--backfill.step", Plan{Range: 1, RecentStep: 1}},
		{"--backfill.recent-step", Plan{Range: 1, Step: 1}},
		{"--backfill.recent", Plan{Range: 1, Step: 1, RecentStep: 1, Recent: -1}},
	} {
		if err, flag, p := c.p.Validate(), c.flag, c.p; err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%+v: %v, want an error naming %s", p, err, flag)
		}
	}
	if err := DefaultPlan.Validate(); err != nil {
		t.Error(err)
	}
}

// Only event-time families are backfilled: no health series, no value of now.
func TestFamilies(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Families() {
		names[d.Name] = true
		if d.Event == "" || d.Type != metrics.Gauge {
			t.Errorf("%s is backfilled but is not an event-time gauge", d.Name)
		}
	}
	for _, d := range metrics.Health {
		if names[d.Name] {
			t.Errorf("health series %s is backfilled", d.Name)
		}
	}
	for _, n := range []string{metrics.LeadsCreated, metrics.RevenueWon, metrics.CampaignSpend, metrics.PeriodStart} {
		if !names[n] {
			t.Errorf("%s is not backfilled", n)
		}
	}
	for _, n := range []string{metrics.Leads, metrics.FollowupWaiting, metrics.OpportunitiesOpen} {
		if names[n] {
			t.Errorf("%s, a value of now, is backfilled", n)
		}
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels([]string{"crm=acme", "env=prod=eu"})
	if err != nil || got["crm"] != "acme" || got["env"] != "prod=eu" {
		t.Errorf("ParseLabels = %v, %v", got, err)
	}
	for _, bad := range []string{"novalue", "1x=a", "__name__=x", "a-b=c", "=v"} {
		if _, err := ParseLabels([]string{bad}); err == nil || !strings.Contains(err.Error(), "--backfill.label") {
			t.Errorf("%q: %v, want an error naming --backfill.label", bad, err)
		}
	}
	if s := Selector(map[string]string{"job": `a"b\c`, "instance": "x:1"}); s != `instance="x:1",job="a\"b\\c"` {
		t.Errorf("Selector = %s", s)
	}
}

// The writer's output is OpenMetrics: each family once, HELP and TYPE first, label values
// escaped, timestamps in seconds, # EOF last.
func TestWriterOpenMetrics(t *testing.T) {
	defs := []metrics.Def{{Name: "tandem_x", Type: metrics.Gauge, Labels: []string{"channel"}, Help: `a "help"` + "\nline", Event: "e"}}
	w, err := newWriter(defs, metrics.Dimensions{}, sortedTarget(map[string]string{"job": "tandem", "instance": `a"b`}), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.finish(&buf); err != nil {
		t.Fatal(err)
	}
	want := "# HELP tandem_x a \\\"help\\\"\\nline\n# TYPE tandem_x gauge\n# EOF\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	if p := string(w.prefix(0, defs[0], []string{"we\\b\n"})); p != `tandem_x{channel="we\\b\n",instance="a\"b",job="tandem"} ` {
		t.Errorf("prefix = %s", p)
	}
}

// An event takes effect at the first instant at or after its timestamp: instants are whole
// seconds, so its second rounded up says which, sub-second timestamps included; what is before the
// first instant comes at the first.
func TestEventSecond(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ts := range []time.Time{
		from.Add(-48 * time.Hour), from.Add(-time.Nanosecond), from, from.Add(time.Nanosecond),
		from.Add(time.Second - time.Nanosecond), from.Add(time.Second), from.Add(90*time.Minute + 500*time.Millisecond),
		from.AddDate(40, 0, 0).Add(time.Microsecond),
	} {
		got := eventSecond(ts, from)
		for _, instant := range []time.Time{from, from.Add(time.Second), from.Add(2 * time.Second), from.Add(90 * time.Minute), from.Add(90*time.Minute + time.Second), from.AddDate(40, 0, 0), from.AddDate(40, 0, 0).Add(time.Second)} {
			sec := int32(instant.Sub(from) / time.Second)
			if want := !ts.After(instant); (got <= sec) != want {
				t.Errorf("event at %s (second %d): at the instant %s %v, want %v", ts, got, instant, got <= sec, want)
			}
		}
	}
}
