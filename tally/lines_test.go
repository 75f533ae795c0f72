package tally

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
)

// TestLinesAddAsSnapshot: what goes through the line cache (inLine, addLine, observeLine) makes
// the snapshot Snapshot's own paths make (inWindows, add, observe): the same series, labels, sums,
// addition counts and percentile values; with metric names and labels that are equal strings in
// different places, tuples of different lengths, and two snapshots at once.
func TestLinesAddAsSnapshot(t *testing.T) {
	cfg := testConfig(t, "")
	spans := cfg.Calendar.Spans(t0)
	copyOf := func(s string) string { return strings.Clone(s) } // equal bytes, elsewhere
	all := spans.Of(t0)
	adds := []lineAdd{
		{name: metrics.LeadsCreated, tuple: []string{"web", "emea"}, mask: all, n: 1, rows: 1},
		{name: copyOf(metrics.LeadsCreated), tuple: []string{"web", "emea"}, mask: all, n: 1, rows: 1},
		{name: metrics.FunnelStageEntered, first: "mql", hasFirst: true, tuple: []string{"web", "emea", "smb"}, mask: all &^ 1, n: 1, rows: 1},
		{name: metrics.FunnelStageEntered, first: copyOf("mql"), hasFirst: true, tuple: []string{"web", "emea", "smb"}, mask: 1, n: 1, rows: 1},
		{name: metrics.SalesTouches, first: "call", hasFirst: true, tuple: []string{"web", "emea", "smb"}, mask: all, n: 3, rows: 3},
		{name: metrics.LeadsDisqualified, first: "budget", hasFirst: true, tuple: nil, mask: all, n: 1, rows: 1},
		{name: metrics.Leads, first: "mql", hasFirst: true, tuple: []string{"web", "emea", "smb"}, noWindow: true, n: 1},
		{name: metrics.AttemptsMet, tuple: []string{"web\xffemea", "smb"}, mask: all, n: 1, rows: 1},
		{name: metrics.AttemptsMet, tuple: []string{"web", "emea", "smb"}, mask: all, n: 1, rows: 1},
		{name: metrics.SpeedToLead, tuple: []string{"web", "emea", "smb"}, mask: all, quantile: 60},
		{name: metrics.SpeedToLead, tuple: []string{"web", "emea", "smb"}, mask: all, quantile: 90.5},
		{name: metrics.FunnelVelocity, first: "lead_to_mql", hasFirst: true, tuple: []string{"web", "emea", "smb"}, mask: 1, quantile: 3600},
	}
	// More lines than lines.recent has slots: some share a slot, and each must still find its own.
	for j := range 2 * len(newLines(spans).recent.s) {
		adds = append(adds, lineAdd{name: metrics.SalesTouches, first: "call", hasFirst: true, tuple: []string{strconv.Itoa(j % 700)},
			mask: fiscal.Mask(1 + j/700), n: int64(j), rows: 1})
	}
	plain, plainV := newSnapshot(), newSnapshot()
	viaLines, viaLinesV := newSnapshot(), newSnapshot()
	c := &CRM{spans: spans, lines: newLines(spans)}
	// Three rounds through the same lines, spread after each, as a full recount's worker adds
	// its rounds: the lines found in a round are added to again in the next, and a round adds
	// only part of them (a spread must not add a line's sums twice, nor forget one).
	for round := range 3 {
		for i, a := range adds {
			if round == 1 && i%2 == 1 {
				continue
			}
			addBoth(c, spans, a, i, plain, plainV, viaLines, viaLinesV)
		}
		c.lines.spread() // as finishRows does once every lead of a round is in
	}
	for _, p := range [][2]*Snapshot{{plain, viaLines}, {plainV, viaLinesV}} {
		if !sameFamilies(p[0].Families, p[1].Families) {
			for name, f := range p[0].Families {
				for k, x := range f.Series {
					if y := p[1].Families[name].Series[k]; y == nil || !sameSample(x, y) {
						t.Errorf("%s %q: plain %+v, through lines %+v", name, k, *x, y)
					}
				}
			}
			t.Fatalf("the line cache made another snapshot")
		}
	}
	if len(plain.Families) == 0 || len(plainV.Families) == 0 {
		t.Fatal("nothing added")
	}
}

// lineAdd is one addition of TestLinesAddAsSnapshot.
type lineAdd struct {
	name, first string
	hasFirst    bool
	tuple       []string
	mask        fiscal.Mask
	n, rows     int64
	noWindow    bool
	quantile    float64
}

// addBoth adds a (the i-th addition) through Snapshot's own paths to plain (plainV) and through
// the line cache to viaLines (viaLinesV): every third to the second snapshot of each pair, as
// finishRows' volatile one.
func addBoth(c *CRM, spans fiscal.Spans, a lineAdd, i int, plain, plainV, viaLines, viaLinesV *Snapshot) {
	{
		ps, ls := plain, viaLines
		if i%3 == 2 { // a second snapshot, as finishRows' volatile one
			ps, ls = plainV, viaLinesV
		}
		var fixed []string
		if a.hasFirst {
			fixed = []string{a.first}
		}
		tuple := c.lines.tuple(a.tuple)
		switch {
		case a.quantile != 0:
			ps.observe(a.name, a.quantile, append(append([]string{atomLabel(a.mask)}, fixed...), a.tuple...)...)
			c.observeLine(ls, a.mask, a.name, a.quantile, a.first, a.hasFirst, tuple)
		case a.noWindow:
			ps.add(a.name, a.n, append(fixed, a.tuple...)...)
			c.addLine(ls, a.name, a.first, tuple, a.n)
		default:
			inWindows(ps, spans, a.mask, a.name, a.n, a.rows, append(fixed, a.tuple...))
			c.inLine(ls, a.mask, a.name, a.first, a.hasFirst, tuple, a.n, a.rows)
		}
	}
}

// sameFamilies reports whether two snapshots' families are equal, their percentile sets
// compared by the values they hold (each set has a generation of its own).
func sameFamilies(a, b map[string]*Family) bool {
	if len(a) != len(b) {
		return false
	}
	for name, f := range a {
		g := b[name]
		if g == nil || !reflect.DeepEqual(f.Def, g.Def) || len(f.Series) != len(g.Series) {
			return false
		}
		for k, x := range f.Series {
			if y := g.Series[k]; y == nil || !sameSample(x, y) {
				return false
			}
		}
	}
	return true
}

func sameSample(x, y *Sample) bool {
	xs, ys := *x, *y
	xs.Q, ys.Q = nil, nil
	if !reflect.DeepEqual(xs, ys) || (x.Q == nil) != (y.Q == nil) {
		return false
	}
	return x.Q == nil || x.Q.Equal(y.Q)
}

// TestTupleOfAsTuple: the cached tuple numbers (tupleOf) are tuple's, for equal values in
// different places, tuples of different lengths, and more tuples than the cache has slots.
func TestTupleOfAsTuple(t *testing.T) {
	ls := newLines(nil)
	var tuples [][]string
	for i := range 3 * len(ls.recentTuples.s) {
		v := strconv.Itoa(i % 97)
		switch i % 3 {
		case 0:
			tuples = append(tuples, []string{v})
		case 1:
			tuples = append(tuples, []string{v, strings.Clone(v)})
		default:
			tuples = append(tuples, []string{"web", v, strconv.Itoa(i % 5)})
		}
	}
	tuples = append(tuples, nil, []string{"a", "b", "c", "d"})
	for round := range 2 { // the second from the cache, where a slot still holds it
		for _, tu := range tuples {
			copyOf := make([]string, len(tu))
			for i, v := range tu {
				copyOf[i] = strings.Clone(v) // equal values, elsewhere
			}
			got, again := ls.tupleOf(tu), ls.tupleOf(copyOf)
			if want := ls.tuple(tu); got != want || again != want {
				t.Fatalf("round %d, %q: tupleOf %d and %d (a copy), tuple %d", round, tu, got, again, want)
			}
			if !slices.Equal(ls.labels[got], tu) && !(len(tu) == 0 && len(ls.labels[got]) == 0) {
				t.Fatalf("%q: tuple %d holds %q", tu, got, ls.labels[got])
			}
		}
	}
}

// TestRestKey: the key of a series' labels but its first is the end of the series' key, and is
// made again from the labels when the key is not theirs.
func TestRestKey(t *testing.T) {
	for _, labels := range [][]string{
		{"today"},
		{"today", "web"},
		{"this_week", "web", "emea", ""},
		{"", "", "x"},
		{"this_month", "a\xffb", "c"},
	} {
		if got, want := restKey(key(labels), labels), key(labels[1:]); got != want {
			t.Errorf("restKey(%q) = %q, want %q", labels, got, want)
		}
		if got := string(appendKey(nil, labels)); got != key(labels) {
			t.Errorf("appendKey(%q) = %q, key %q: the two ways of making a key differ", labels, got, key(labels))
		}
	}
	if got := restKey("other\xffweb", []string{"today", "web"}); got != "web" {
		t.Errorf("restKey of a key not the labels' = %q, want their own", got)
	}
}

// TestStrMemo: the memo gives what its function makes of each string, whichever slot the
// strings share, and calls the function again only for a string it does not hold.
func TestStrMemo(t *testing.T) {
	var m strMemo[string]
	calls := 0
	upper := func(s string) string { calls++; return strings.ToUpper(s) }
	vals := make([]string, 500) // more than the memo's slots: they collide and evict
	for i := range vals {
		vals[i] = fmt.Sprintf("kind-%d", i)
	}
	for round := range 3 {
		for _, v := range vals {
			if got := m.get(v, upper); got != strings.ToUpper(v) {
				t.Fatalf("round %d: %q gave %q", round, v, got)
			}
		}
	}
	hot := vals[7]
	m.get(hot, upper)
	before := calls
	for range 100 {
		m.get(hot, upper)
		m.get(hot[:4], upper) // the same bytes, shorter: another key
	}
	if calls != before+1 {
		t.Errorf("%d calls for a string held and its prefix, want 1 (the prefix's first)", calls-before)
	}
	if got := m.get(strings.Clone(hot), upper); got != strings.ToUpper(hot) {
		t.Errorf("a copy of %q gave %q", hot, got)
	}
}

// TestLabelsOfAsBytes: what a lead's raw dimension values publish as through the cache keyed by
// where their bytes are (labelsOf) is what the values' bytes make (labelsOfBytes), for equal
// values in different places, values folded into "other" over their caps, and more tuples of
// values than the cache has slots; with the owner dimension (five values) and without.
func TestLabelsOfAsBytes(t *testing.T) {
	for _, yml := range []string{
		"labels: {source: {max_values: 7}}",
		"labels: {source: {max_values: 7}, owner: {enabled: true, max_values: 12}}",
	} {
		cfg := testConfig(t, yml)
		folder := NewFolder(cfg.Caps)
		values := map[string]int{}
		for i := range 20 {
			values["src"+strconv.Itoa(i)] = 20 - i // the 7 most frequent admitted, the rest "other"
		}
		folder.Admit("source", values)
		others := map[string]int{}
		for i := range 12 {
			others[strconv.Itoa(i)] = 1
		}
		for _, d := range cfg.Dims[1:] {
			folder.Admit(d.Name, others) // every other value admitted
		}
		c := NewCRM(cfg, folder, t0)
		c.lines = newLines(c.spans)
		var raws [][]string
		for i := range 3 * len(c.lines.recentRaw.s) {
			raw := make([]string, len(cfg.Dims))
			for d := range raw {
				raw[d] = strconv.Itoa((i*(d+3) + d) % (5 + d))
			}
			raw[0] = "src" + strconv.Itoa(i%20) // cfg.Dims[0] is the source
			raws = append(raws, raw)
		}
		for round := range 2 { // the second from the cache, where a slot still holds it
			for _, raw := range raws {
				copyOf := make([]string, len(raw))
				for i, v := range raw {
					copyOf[i] = strings.Clone(v) // equal values, elsewhere
				}
				got, again, want := c.labelsOf(raw), c.labelsOf(copyOf), c.labelsOfBytes(raw)
				for _, p := range []published{got, again} {
					if !slices.Equal(p.sales, want.sales) || !slices.Equal(p.lead, want.lead) || p.st != want.st || p.lt != want.lt {
						t.Fatalf("%s, round %d, %q: labelsOf %+v, labelsOfBytes %+v", yml, round, raw, p, want)
					}
				}
				if n, _ := strconv.Atoi(raw[0][3:]); (n >= 7) != slices.Contains(want.lead, "other") {
					t.Fatalf("%s: %q publishes as %q", yml, raw, want.lead)
				}
			}
		}
	}
}
