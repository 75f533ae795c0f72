package tally

import (
	"unsafe"

	"github.com/tandem-oss/tandem/fiscal"
)

// The samples a tally's leads add to, looked up once per tally rather than once per lead.
//
// A lead's numbers add to some forty series (created, each stage entered, each cohort, touches,
// follow-up, in each window of the period), and naming a series costs building its label key
// and hashing it: at a million leads that was most of a cold start's second pass. Leads share
// their label values (a tuple: their sales dimensions, their lead dimensions), so finishRows
// numbers each tuple once per lead (tuples) and finds a series by what names it, with no key to
// build: its snapshot, metric, window (or atom), the label before the tuple, and the tuple.
type line struct {
	s *Snapshot
	// name and first (the one label between the window and the tuple, if hasFirst) are keyed
	// by where their bytes are, not by their bytes: hashing two pointers is what made this
	// cheaper than the label key. Equal strings in two places only make two keys for one
	// sample (each finds it through Snapshot.sample): the counts stay right.
	name, first       *byte
	nameLen, firstLen int32
	// win is the window's index (a period metric), noWindow, or atomWindow (a quantile: mask)
	win      int8
	hasFirst bool
	mask     fiscal.Mask
	tuple    int32
}

// lineOf is the line of a metric's series: win, mask and tuple as line's.
func lineOf(s *Snapshot, name, first string, hasFirst bool, win int8, mask fiscal.Mask, tuple int32) line {
	return line{s: s, name: unsafe.StringData(name), nameLen: int32(len(name)), first: unsafe.StringData(first),
		firstLen: int32(len(first)), win: win, hasFirst: hasFirst, mask: mask, tuple: tuple}
}

const (
	noWindow   = -1
	atomWindow = -2
)

// lines is a tally's line cache, set only while finishRows runs (the samples' snapshots only
// grow then, so a sample found stays the series' sample).
type lines struct {
	spans   fiscal.Spans
	samples map[line]*Sample
	tuples  map[string]int32
	labels  [][]string // by tuple
	kb      []byte
}

func newLines(spans fiscal.Spans) *lines {
	return &lines{spans: spans, samples: map[line]*Sample{}, tuples: map[string]int32{}}
}

// tuple numbers a tuple of label values (no allocation once it is known).
func (ls *lines) tuple(labels []string) int32 {
	ls.kb = appendKey(append(ls.kb[:0], byte(len(labels))), labels) // tuples of two lengths never share a key
	if t, ok := ls.tuples[string(ls.kb)]; ok {
		return t
	}
	t := int32(len(ls.labels))
	ls.tuples[string(ls.kb)] = t
	ls.labels = append(ls.labels, append([]string(nil), labels...))
	return t
}

// sample is the sample k names (name and first being its strings), counted as one more
// addition (Snapshot.sample).
func (ls *lines) sample(k line, name, first string) *Sample {
	if x := ls.samples[k]; x != nil {
		x.refs++
		return x
	}
	tl := ls.labels[k.tuple]
	labels := make([]string, 0, 2+len(tl))
	switch k.win {
	case noWindow:
	case atomWindow:
		labels = append(labels, atomLabel(k.mask))
	default:
		labels = append(labels, string(ls.spans[k.win].Window))
	}
	if k.hasFirst {
		labels = append(labels, first)
	}
	x := k.s.sample(name, append(labels, tl...))
	ls.samples[k] = x
	return x
}

// inLine is CRM.in with the labels after the window named as a line: first (if hasFirst) then
// the tuple's labels. For a sum that rows make up (n touches of a kind counted at once), rows
// counts each row as an addition (Sample.refs), however the rows were grouped, so the count does
// not depend on which of them happened to share their windows.
func (c *CRM) inLine(s *Snapshot, m fiscal.Mask, name, first string, hasFirst bool, tuple int32, n, rows int64) {
	m.Each(func(i int) {
		x := c.lines.sample(lineOf(s, name, first, hasFirst, int8(i), 0, tuple), name, first)
		x.N += n
		x.refs += rows - 1
	})
}

// addLine is Snapshot.add with the labels named as a line (no window).
func (c *CRM) addLine(s *Snapshot, name, first string, tuple int32, n int64) {
	c.lines.sample(lineOf(s, name, first, true, noWindow, 0, tuple), name, first).N += n
}

// observeLine adds a value to a period quantile metric, once for all the windows of m
// (atomLabel), with at most one fixed label (first, if hasFirst) and the tuple's labels (the
// sales dimensions). Its overall family (metrics.Overall) is made from the same values at publish.
func (c *CRM) observeLine(s *Snapshot, m fiscal.Mask, name string, v float64, first string, hasFirst bool, tuple int32) {
	if m == 0 {
		return
	}
	x := c.lines.sample(lineOf(s, name, first, hasFirst, atomWindow, m, tuple), name, first)
	x.ownQ()
	x.Q.Add(v, 1)
}
