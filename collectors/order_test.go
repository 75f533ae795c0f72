package collectors

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/tally"
)

// TestWriteTextKeepsItsOrderOnlyForTheSameSeries: a collector that wrote snapshots before
// writes each new one exactly as a collector that never wrote one does (series sorted by their
// label values), whether the new snapshot has the same series with other values, more series,
// fewer, or as many but others.
func TestWriteTextKeepsItsOrderOnlyForTheSameSeries(t *testing.T) {
	d := metrics.Def{Name: "tandem_test_series", Help: "A test family.", Type: metrics.Gauge, Labels: []string{"period", "source", "region"}}
	newCollector := func() *snapshotCollector {
		return &snapshotCollector{defs: []metrics.Def{d}, text: map[string]text{d.Name: textHeader(d, d.Labels)}, order: map[string][]string{}}
	}
	r := rand.New(rand.NewSource(1))
	snapshot := func(combos [][]string) *tally.Snapshot {
		f := &tally.Family{Def: d, Series: map[string]*tally.Sample{}}
		for _, l := range combos {
			f.Series[strings.Join(l, "\xff")] = &tally.Sample{Labels: l, N: r.Int63n(1000)}
		}
		return &tally.Snapshot{Families: map[string]*tally.Family{d.Name: f}}
	}
	combos := func(sources ...string) [][]string {
		var out [][]string
		for _, p := range []string{"today", "this_week", "this_month"} {
			for _, s := range sources {
				for _, g := range []string{"emea", "na", "apac"} {
					out = append(out, []string{p, s, g})
				}
			}
		}
		return out
	}
	kept := newCollector()
	var last [][]string
	for i, c := range [][][]string{
		combos("web", "ads", "partner"),
		combos("web", "ads", "partner"),             // the same series, other values
		combos("web", "ads", "partner", "events"),   // more
		combos("ads", "events"),                     // fewer
		combos("ads", "zoo"),                        // as many, not the same
		combos("ads", "zoo"),                        // the same again
		append(combos("ads"), combos("zoo")[1:]...), // one fewer
	} {
		snap := snapshot(c)
		last = c
		var got, want bytes.Buffer
		kept.WriteText(&got, snap)
		newCollector().WriteText(&want, snap)
		if got.String() != want.String() {
			t.Fatalf("snapshot %d, written after others:\n%s\nwant, as from a new collector:\n%s", i, got.String(), want.String())
		}
		if n := strings.Count(got.String(), "\n") - 2; n != len(c) {
			t.Fatalf("snapshot %d: %d series written, want %d", i, n, len(c))
		}
	}
	if got := len(kept.order[d.Name]); got != len(last) {
		t.Errorf("the order kept has %d series, want the last snapshot's %d", got, len(last))
	}
}
