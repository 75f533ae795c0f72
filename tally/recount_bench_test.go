package tally

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/source"
)

// BenchmarkFullRecount is a cold start's work on the exporter's side, without a database: the
// live tallies' first poll (a full recount, read by range of leads as from the poller) over
// recountLeads leads with the bench's shape (five activities, 0.2 deals and 2.6 touchpoints a
// lead). The baseline, in the same run, is the batch tallies over the same rows (one CRM and
// one campaign tally over every row, what polls computed before the live tallies):
// recount-vs-batch is the live recount's time over theirs, allocs-vs-batch its allocations.
func BenchmarkFullRecount(b *testing.B) {
	const recountLeads = 20_000
	g := &generator{rnd: rand.New(rand.NewSource(7))}
	now := time.Date(2026, 3, 27, 10, 0, 0, 0, time.UTC)
	rows := emptyRows()
	for id := int64(1); id <= 4; id++ {
		rows.owners[id] = source.Owner{ID: id, Name: fmt.Sprint("owner", id), SalesTeam: g.pick("inbound", "outbound"), Region: g.pick("na", "emea")}
		rows.camps[id] = source.Campaign{ID: id, Name: fmt.Sprint("campaign", id), Channel: g.pick("paid_search", "email", "social"), Currency: "USD"}
	}
	for id := int64(1); id <= recountLeads; id++ {
		rows.leads[id] = g.lead(id, now)
	}
	for id := int64(1); id <= 5*recountLeads; id++ {
		rows.acts[id] = g.activity(id, recountLeads, now)
	}
	for id := int64(1); id <= 26*recountLeads/10; id++ {
		rows.touches[id] = g.touch(id, recountLeads, now)
	}
	for id := int64(1); id <= recountLeads/5; id++ {
		rows.opps[id] = g.opportunity(id, recountLeads, now)
	}
	cfg := liveConfig(b)
	// Each side's time and allocations, measured alternately so both see the same machine.
	var live, batchTime time.Duration
	var liveAllocs, batchAllocs uint64
	measure := func(fn func()) (time.Duration, uint64) {
		allocs := testing.AllocsPerRun(1, fn) // runs fn twice (a warm-up): the time is of a third run
		t0 := time.Now()
		fn()
		return time.Since(t0), uint64(allocs)
	}
	b.ResetTimer()
	for b.Loop() {
		d, a := measure(func() {
			feed := NewTouchFeed()
			camp := NewLiveCampaigns(cfg, NewFolder(cfg.Caps))
			camp.Share(feed)
			crm := NewLiveCRM(cfg, NewFolder(cfg.Caps), feed)
			livePoll(emptyRows(), rows.clone(), camp, crm, feed, now, true, false)
		})
		live, liveAllocs = live+d, liveAllocs+a
		d, a = measure(func() {
			ref := &batch{NewFolder(cfg.Caps), NewFolder(cfg.Caps)}
			ref.tally(b, rows, now)
		})
		batchTime, batchAllocs = batchTime+d, batchAllocs+a
	}
	b.ReportMetric(float64(live)/float64(batchTime), "recount-vs-batch")
	b.ReportMetric(float64(liveAllocs)/float64(batchAllocs), "allocs-vs-batch")
	b.ReportMetric(float64(live.Nanoseconds())/float64(b.N)/recountLeads, "recount-ns/lead")
}

func emptyRows() *rowSet {
	return &rowSet{owners: map[int64]source.Owner{}, leads: map[int64]source.Lead{}, acts: map[int64]source.Activity{}, opps: map[int64]source.Opportunity{},
		camps: map[int64]source.Campaign{}, stats: map[[2]int64]source.CampaignStat{}, touches: map[int64]source.Touchpoint{}}
}
