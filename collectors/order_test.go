package collectors

import (
	"bytes"
	"math"
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
		return &snapshotCollector{defs: []metrics.Def{d}, text: map[string]text{d.Name: textHeader(d, d.Labels)}}
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
	if got := len(kept.written[d.Name].keys); got != len(last) {
		t.Errorf("the order kept has %d series, want the last snapshot's %d", got, len(last))
	}
}

// TestWriteTextRewritesOnlyChangedFamilies: a family whose series and values are those written
// last time is written from the text kept for it (here made recognisable), and a family with one
// value changed, or one series more, is written anew, exactly as a new collector writes it.
func TestWriteTextRewritesOnlyChangedFamilies(t *testing.T) {
	defs := []metrics.Def{
		{Name: "tandem_test_counts", Help: "Counts.", Type: metrics.Gauge, Labels: []string{"period", "source"}},
		{Name: "tandem_test_seconds", Help: "Seconds.", Type: metrics.Gauge, Labels: []string{"period", "source"}},
	}
	newCollector := func() *snapshotCollector {
		c := &snapshotCollector{defs: defs, text: map[string]text{}}
		for _, d := range defs {
			c.text[d.Name] = textHeader(d, d.Labels)
		}
		return c
	}
	// values: by family, the value of each source's series ("web", "ads", "partner").
	snapshot := func(counts []int64, secs []float64) *tally.Snapshot {
		s := &tally.Snapshot{Families: map[string]*tally.Family{}}
		for i, d := range defs {
			f := &tally.Family{Def: d, Series: map[string]*tally.Sample{}}
			for j, src := range []string{"web", "ads", "partner", "events"} {
				l := []string{"today", src}
				switch {
				case i == 0 && j < len(counts):
					f.Series[strings.Join(l, "\xff")] = &tally.Sample{Labels: l, N: counts[j]}
				case i == 1 && j < len(secs):
					f.Series[strings.Join(l, "\xff")] = &tally.Sample{Labels: l, F: secs[j], IsFloat: true}
				}
			}
			s.Families[d.Name] = f
		}
		return s
	}
	nan := math.NaN()
	kept := newCollector()
	const mark = "# the text kept for the family\n"
	for i, step := range []struct {
		counts     []int64
		secs       []float64
		countsKept bool // the counts' family is written from its kept text
		secsKept   bool
	}{
		{[]int64{1, 2, 3}, []float64{0.5, nan, 7}, false, false}, // first written
		{[]int64{1, 2, 3}, []float64{0.5, nan, 7}, true, true},   // the same: both kept
		{[]int64{1, 5, 3}, []float64{0.5, nan, 7}, false, true},  // one count changed
		{[]int64{1, 5, 3}, []float64{0.5, 1, 7}, true, false},    // NaN to a number
		{[]int64{1, 5, 3, 0}, []float64{0.5, 1, 7}, false, true}, // a series more
		{[]int64{1, 5, 3, 0}, []float64{0.5, 1, 7}, true, true},
	} {
		// Make the kept texts recognisable: a family written from one shows the mark.
		for _, w := range kept.written {
			w.text = append([]byte(mark), w.text...)
		}
		snap := snapshot(step.counts, step.secs)
		var got, want bytes.Buffer
		kept.WriteText(&got, snap)
		newCollector().WriteText(&want, snap)
		countsKept := strings.Contains(got.String(), mark+"# HELP tandem_test_counts ")
		secsKept := strings.Contains(got.String(), mark+"# HELP tandem_test_seconds ")
		if countsKept != step.countsKept || secsKept != step.secsKept {
			t.Fatalf("step %d: counts kept %v, seconds kept %v; want %v, %v:\n%s", i, countsKept, secsKept, step.countsKept, step.secsKept, got.String())
		}
		if s := strings.ReplaceAll(got.String(), mark, ""); s != want.String() {
			t.Fatalf("step %d:\n%s\nwant, as from a new collector:\n%s", i, s, want.String())
		}
	}
}
