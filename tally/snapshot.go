// Package tally turns the rows of one poll into the numbers Tandem publishes. It is pure: rows in,
// a Snapshot out, "now" passed in, so every rule (stage entry, cohort, SLA deadline, period,
// currency conversion, label folding) is tested without a database.
//
// Every number is a sum of per-lead (CRM) or per-row (campaigns) contributions, put in the
// periods their event timestamps fall in at now; the live tallies (live.go) keep those sums
// between polls.
package tally

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/quantile"
)

// Snapshot is what one successful poll of one database publishes.
type Snapshot struct {
	Families map[string]*Family
	// Problems counts rows that failed a data-quality check, by query and check.
	Problems map[Problem]int
	// kb is sample's key buffer: the lookup of an existing series allocates nothing (the hot
	// path, once per lead, window and family).
	kb []byte
	// memo keeps the quantiles published from a live tally's snapshot, shared by the snapshot
	// and the clones it publishes (clonePublished); nil for a batch tally's.
	memo *quantileMemo
}

// Problem is one data-quality check on one query.
type Problem struct{ Query, Check string }

// Family holds the series of one metric.
type Family struct {
	Def    metrics.Def
	Series map[string]*Sample
}

// Sample is one series. Counts and cents accumulate exactly in N; F holds fractional values
// (seconds, ratios); a quantile family keeps its values in Q until it is published.
type Sample struct {
	Labels  []string
	N       int64
	F       float64
	IsFloat bool
	Q       *quantile.Set
	// refs counts the additions that made this series, so that a live tally which subtracts a
	// row's contribution drops the series exactly when a tally from scratch would not have it.
	refs int64
	// isMax marks a gauge that is a maximum over leads (the oldest wait): merged by max, not sum.
	isMax bool
	// sharedQ marks a Q that belongs to the snapshot this one was cloned from (see
	// clonePublished): copied before anything is added to it.
	sharedQ bool
}

// ownQ gives the sample its own copy of a shared Q, before it is written to.
func (x *Sample) ownQ() {
	if x.sharedQ {
		x.Q, x.sharedQ = x.Q.Clone(), false
	}
}

// Value is the sample's published value: currency amounts are kept in cents and published in
// units.
func (s *Sample) Value(d metrics.Def) float64 {
	if s.IsFloat {
		return s.F
	}
	if d.Unit == "currency" {
		return float64(s.N) / 100
	}
	return float64(s.N)
}

// Empty is a snapshot of no numbers.
func Empty() *Snapshot { return newSnapshot() }

func newSnapshot() *Snapshot {
	return &Snapshot{Families: map[string]*Family{}, Problems: map[Problem]int{}}
}

func (s *Snapshot) family(name string) *Family {
	f, ok := s.Families[name]
	if !ok {
		d, found := metrics.Lookup(name)
		if !found {
			panic("tally: metric not in the catalogue: " + name)
		}
		f = &Family{Def: d, Series: map[string]*Sample{}}
		s.Families[name] = f
	}
	return f
}

// keySep separates the label values in a series' key (key, appendKey, restKey): one byte, which
// no UTF-8 text holds.
const keySep = "\xff"

func key(labels []string) string { return strings.Join(labels, keySep) }

// restKey is key(labels[1:]) for a series whose key is k: the end of k when k is key(labels),
// as every series' is.
func restKey(k string, labels []string) string {
	if len(labels) == 1 {
		return ""
	}
	if n := len(labels[0]); len(k) > n && k[n] == keySep[0] && k[:n] == labels[0] {
		return k[n+1:]
	}
	return key(labels[1:])
}

// appendKey is key(labels) appended to b.
func appendKey(b []byte, labels []string) []byte {
	for i, l := range labels {
		if i > 0 {
			b = append(b, keySep...)
		}
		b = append(b, l...)
	}
	return b
}

func (s *Snapshot) sample(name string, labels []string) *Sample {
	f := s.family(name)
	s.kb = appendKey(s.kb[:0], labels)
	x, ok := f.Series[string(s.kb)]
	if !ok {
		x = &Sample{Labels: append([]string(nil), labels...)}
		if f.Def.Quantile {
			x.Q = &quantile.Set{}
		}
		f.Series[string(s.kb)] = x
	}
	x.refs++
	return x
}

func (s *Snapshot) add(name string, n int64, labels ...string) { s.sample(name, labels).N += n }

// addRows adds a sum that rows contributions make up, counting each (see Sample.refs).
func (s *Snapshot) addRows(name string, n, rows int64, labels ...string) {
	x := s.sample(name, labels)
	x.N += n
	x.refs += rows - 1
}

func (s *Snapshot) set(name string, v float64, labels ...string) {
	x := s.sample(name, labels)
	x.F, x.IsFloat = v, true
}

func (s *Snapshot) max(name string, v float64, labels ...string) {
	x := s.sample(name, labels)
	x.isMax = true
	if !x.IsFloat || v > x.F {
		x.F, x.IsFloat = v, true
	}
}

// observe adds a value to a quantile family's series.
func (s *Snapshot) observe(name string, v float64, labels ...string) {
	x := s.sample(name, labels)
	x.ownQ()
	x.Q.Add(v, 1)
}

func (s *Snapshot) problem(query, check string) { s.Problems[Problem{query, check}]++ }

// Sorted returns a family's series in label order, for deterministic output.
func (f *Family) Sorted() []*Sample {
	keys := make([]string, 0, len(f.Series))
	for k := range f.Series {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the map's keys are key(Labels)
	out := make([]*Sample, len(keys))
	for i, k := range keys {
		out[i] = f.Series[k]
	}
	return out
}

// SortedProblems returns the data-quality problems in query, check order.
func (s *Snapshot) SortedProblems() []Problem {
	out := make([]Problem, 0, len(s.Problems))
	for p := range s.Problems {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Query != out[j].Query {
			return out[i].Query < out[j].Query
		}
		return out[i].Check < out[j].Check
	})
	return out
}

// Check documents one data-quality check: which query finds it and what happens to the row.
type Check struct {
	Name, Query, Effect string
}

// Checks lists every data-quality check, for docs/metrics.md.
var Checks = []Check{
	{"null_required", "any", "A required column is NULL: the row is skipped."},
	{"bad_value", "any", "A value of the wrong type or format (a timestamp that does not parse, text in an amount): the row is skipped."},
	{"value_too_long", "any", "A text value (a source, reason, stage, channel...) longer than 100 characters: kept, cut to its first 99 characters followed by \"…\", so no label value is longer."},
	{CheckDuplicateID, "any", "A second row with an id already read in this poll: skipped."},
	{CheckNullSource, "leads", "A lead without a source: counted, with source=\"unknown\"."},
	{CheckReservedValue, "leads", "A source, region, segment, team or disqualification reason literally \"unknown\" or \"other\": counted under that value, where it merges with Tandem's own unknown (NULL) and other (folded); rename it in the query to keep it apart."},
	{CheckPersonalData, "leads", "A source, region, segment, team or disqualification reason that contains an e-mail address: published as \"other\", never as a label value."},
	{CheckUnknownOwner, "leads", "A lead whose owner_id is not in the owners query: counted, with sales_team=\"unknown\"."},
	{CheckUnknownStatus, "leads", "A lead without opportunities whose status is not in funnel.status_map: counted everywhere except tandem_leads."},
	{CheckActivityUnknownLead, "activities", "A sales activity for a lead that does not exist: skipped."},
	{CheckActivityBeforeLead, "activities", "A sales activity dated before its lead was created: skipped."},
	{CheckOpportunityNoLead, "opportunities", "An opportunity without a known lead: counted, with every dimension \"unknown\", and in no lead's funnel stage."},
	{CheckCurrencyWithoutRate, "opportunities, campaigns, campaign_stats", "An amount in a currency with no rate in targets.currency_rates: skipped."},
	{CheckWonWithoutCloseTime, "opportunities", "A won opportunity without closed_at: counted as won now (tandem_leads, open pipeline no more), but in no period's revenue, attribution or cohort."},
	{CheckAmountOutOfRange, "opportunities", "An amount below zero or above targets.max_deal_amount (default 1,000,000,000) after conversion: skipped."},
	{CheckTimestampInFuture, "leads, activities, opportunities", "A created, occurred or closed time more than 5 minutes after the exporter's clock: skipped until that time comes."},
	{CheckStageOutOfOrder, "leads", "Stage times out of order (became MQL before created, SQL before MQL or created, disqualified before created): counted as they are; a negative time between stages counts as 0 in the velocity quantiles."},
	{CheckStatUnknownCampaign, "campaign_stats", "Daily stats of a campaign that does not exist: skipped."},
	{CheckStatNegative, "campaign_stats", "A day with negative spend, impressions or clicks (a refund or correction written as a negative row): skipped, so no period's spend or clicks falls below what was spent."},
	{"placeholder_timestamp", "any", "An optional timestamp of year 1 (0001-01-01, what broken syncs write for \"no date\"): read as NULL, and counted."},
	{CheckTouchpointUnknownCampaign, "touchpoints", "A touchpoint of a campaign id that does not exist: counted with channel=\"unknown\"."},
}

// merge adds (sign +1) or subtracts (sign -1) another snapshot's additive contributions: counts,
// cents, float sums, quantile values and data-quality problems. A series that no contribution adds
// to any more is removed, as is a problem counted zero times. A maximum (the oldest wait) merges
// as the larger of the two; it cannot be subtracted, and never is: only clock-dependent leads have
// one, and the live tally recomputes those at every poll. Globals are never merged.
func (s *Snapshot) merge(o *Snapshot, sign int64) {
	for name, of := range o.Families {
		f := s.family(name)
		for k, ox := range of.Series {
			x, ok := f.Series[k]
			if !ok {
				x = &Sample{Labels: ox.Labels, IsFloat: ox.IsFloat}
				if ox.Q != nil {
					x.Q = &quantile.Set{}
				}
				f.Series[k] = x
			}
			x.N += sign * ox.N
			switch {
			case ox.isMax && sign > 0:
				if !x.isMax || ox.F > x.F {
					x.F = ox.F
				}
				x.isMax = true
			case ox.isMax:
				// a maximum cannot be taken out: see above
			default:
				x.F += float64(sign) * ox.F
			}
			x.IsFloat = x.IsFloat || ox.IsFloat
			if ox.Q != nil {
				x.ownQ()
				x.Q.Merge(ox.Q, sign)
			}
			x.refs += sign * ox.refs
			if x.refs == 0 {
				delete(f.Series, k)
			}
		}
	}
	for p, n := range o.Problems {
		s.Problems[p] += int(sign) * n
		if s.Problems[p] == 0 {
			delete(s.Problems, p)
		}
	}
}

// roll moves the period series of a snapshot whose rows were put in the windows of old into the
// windows of later: a series of old's window from[j] becomes one of later's window j (see
// fiscal.Spans.Roll), a series of a window nothing maps from is dropped, and so is one that moves
// out of the current windows in a family counted in those only (the open pipeline expected to
// close this week is no number of last week). What a fresh period of later holds is the caller's
// to add: the rows dated in it.
func (s *Snapshot) roll(old, later fiscal.Spans, from []int) {
	to := make(map[string]fiscal.Window, len(old)) // old window → later one; absent: dropped
	for j, i := range from {
		if i >= 0 {
			to[string(old[i].Window)] = later[j].Window
		}
	}
	names := make(map[string]bool, len(old))
	for _, sp := range old {
		names[string(sp.Window)] = true
	}
	for _, f := range s.Families {
		if !f.Def.Periodic() {
			continue
		}
		out := make(map[string]*Sample, len(f.Series))
		for k, x := range f.Series {
			w := x.Labels[0]
			if m, ok := atomMask(w); ok { // a quantile family's values, by the windows they are in
				if m = remap(m, from); m != 0 {
					c := *x
					c.Labels = append([]string{atomLabel(m)}, x.Labels[1:]...)
					putAtom(out, &c)
				}
				continue
			}
			if !names[w] { // the inflow windows (last_hour...) are no fiscal window
				out[k] = x
				continue
			}
			nw, ok := to[w]
			if !ok || (currentOnly(f.Def) && !nw.Current()) {
				continue
			}
			if string(nw) == w {
				out[k] = x
				continue
			}
			c := *x // x's labels may be shared with a clone: new ones
			c.Labels = append([]string{string(nw)}, x.Labels[1:]...)
			out[key(c.Labels)] = &c
		}
		f.Series = out
	}
}

// The values of a quantile family are kept once, not once per window they are in: in a series
// whose period label is an atom, the set of windows (fiscal.Mask, bit i for fiscal.Windows()[i])
// its values are in. A lead created today is in today, this week, month, quarter and year: one
// value, where a series per window held five. publish makes each window's quantiles from the
// atoms that hold it (quantile.QuantileOf). An atom label starts with a byte no window has.
const atomPrefix = "\x00"

func atomLabel(m fiscal.Mask) string { return atomPrefix + strconv.Itoa(int(m)) }

func atomMask(label string) (fiscal.Mask, bool) {
	if !strings.HasPrefix(label, atomPrefix) {
		return 0, false
	}
	n, err := strconv.Atoi(label[len(atomPrefix):])
	return fiscal.Mask(n), err == nil
}

// putAtom adds an atom's series to out, merged into the one of the same labels if any: two
// atoms of a roll-over's old windows fall together when they differ only in a window dropped.
func putAtom(out map[string]*Sample, x *Sample) {
	k := key(x.Labels)
	y, ok := out[k]
	if !ok {
		out[k] = x
		return
	}
	y.ownQ()
	y.Q.Merge(x.Q, 1)
	y.refs += x.refs
}

// currentOnly reports whether a period family counts in the current windows only (today, this
// week...): the open pipeline by the period it is expected to close in.
func currentOnly(d metrics.Def) bool {
	return d.Name == metrics.PipelineOpen || d.Name == metrics.PipelineWeighted
}

// clone copies a snapshot deeply, so the copy can be published while the original keeps
// accumulating.
func (s *Snapshot) clone() *Snapshot { return s.cloneWith(false) }

// clonePublished is clone for a snapshot to be published (merged into, then publish), taken
// from one its owner keeps (a live tally's sums): the value sets of the quantile families are
// settled in s and shared with the copy instead of copied, and copied only if the copy is
// added to. A million leads' follow-up and velocity times are tens of megabytes, which every
// poll (every instant of a backfill) copied and sorted again.
func (s *Snapshot) clonePublished() *Snapshot {
	if s.memo == nil {
		s.memo = &quantileMemo{m: map[string]map[string]memoized{}}
	}
	out := s.cloneWith(true)
	out.memo = s.memo
	return out
}

// settle settles the percentile sets the snapshot owns (quantile.Set.Settle): a settled set
// merges into another without a second copy of its values.
func (s *Snapshot) settle() {
	for _, f := range s.Families {
		for _, x := range f.Series {
			if x.Q != nil && !x.sharedQ {
				x.Q.Settle()
			}
		}
	}
}

func (s *Snapshot) cloneWith(share bool) *Snapshot {
	out := &Snapshot{Families: make(map[string]*Family, len(s.Families)), Problems: make(map[Problem]int, len(s.Problems))}
	for name, f := range s.Families {
		nf := &Family{Def: f.Def, Series: make(map[string]*Sample, len(f.Series))}
		for k, x := range f.Series {
			c := *x
			switch {
			case x.Q != nil && share:
				x.ownQ() // not x's to settle if x shares it (a clone of a clone)
				x.Q.Settle()
				c.sharedQ = true
			case x.Q != nil:
				c.Q, c.sharedQ = x.Q.Clone(), false
			}
			nf.Series[k] = &c
		}
		out.Families[name] = nf
	}
	for p, n := range s.Problems {
		out.Problems[p] = n
	}
	return out
}

// zeroFilled reports whether a family's series are published for every window, with 0 where the
// window has no rows: a count whose label combination exists in some period is 0, not absent, in
// the others (a true zero, and no series appears or vanishes when the periods roll over).
func zeroFilled(d metrics.Def) bool {
	return d.Periodic() && !d.Quantile && d.Event != metrics.EventPeriod && !currentOnly(d)
}

// publish turns an accumulated snapshot into what /metrics shows: every period count zero-filled
// over the windows, and every quantile family's value sets into one series per quantile (none
// for an empty set: no NaN is ever published).
func (s *Snapshot) publish() {
	windows := fiscal.Windows()
	// The overall families (over every team) are made from their families' values: those of
	// the series with the same period and fixed labels.
	overall := map[string]bool{}
	for name, o := range metrics.Overall {
		overall[o] = true
		if of := s.Families[name]; of != nil {
			f := s.family(o)
			f.Series = quantileSeries(f.Def, windowSets(of, len(f.Def.Labels)-1), s.memo)
		}
	}
	for name, f := range s.Families {
		switch {
		case overall[name]: // made above
		case f.Def.Quantile:
			f.Series = quantileSeries(f.Def, windowSets(f, -1), s.memo)
		case zeroFilled(f.Def), f.Def.Name == metrics.MarketingLeadsArrived:
			ws := windows
			if f.Def.Name == metrics.MarketingLeadsArrived {
				// A source whose inflow fell to nothing this hour is 0, not absent: the inflow
				// alert compares the two windows.
				ws = []fiscal.Window{metrics.WindowLastHour, metrics.WindowSameHourLastWeek}
			}
			// Each combination of the other labels, by its key: the end of its series' key, not a
			// key made again for each series (11 ms of a steady poll at a million leads, the
			// series being those of every lead's labels).
			rest := make(map[string][]string, len(f.Series)/len(ws)+1)
			for k, x := range f.Series {
				rest[restKey(k, x.Labels)] = x.Labels[1:]
			}
			var kb []byte
			for rk, r := range rest {
				for _, w := range ws {
					kb = append(kb[:0], w...) // key(w, r...), from r's own key
					if len(r) > 0 {
						kb = append(append(kb, keySep...), rk...)
					}
					if _, ok := f.Series[string(kb)]; !ok { // looked up without a string made
						f.Series[string(kb)] = &Sample{Labels: append([]string{string(w)}, r...), refs: 1}
					}
				}
			}
		}
	}
}

// quantileSeries publishes a quantile family from the value sets of its windows' series: a
// series per percentile (none for a window without a value: no NaN is ever published). With a
// memo, a series whose sets hold the values they held at the last publish keeps its quantiles.
func quantileSeries(d metrics.Def, sets map[string]*windowSet, memo *quantileMemo) map[string]*Sample {
	at := len(d.Labels) - 1 // the percentile label comes last of the fixed labels
	out := make(map[string]*Sample, len(sets)*len(metrics.Percentiles))
	var last, next map[string]memoized
	if memo != nil {
		last, next = memo.m[d.Name], make(map[string]memoized, len(sets))
	}
	for k, w := range sets {
		m := memoized{gens: generations(w.sets), n: len(w.sets)}
		old, ok := last[k]
		if ok && old.gens == m.gens && old.n == m.n {
			m.q = old.q
		} else {
			// A series published before most often has its quantiles where they were, or next
			// to it: they are looked for there first.
			m.q = make([]float64, len(metrics.Percentiles))
			for i, p := range metrics.Percentiles {
				near := math.NaN()
				if ok {
					near = old.q[i]
				}
				m.q[i] = quantile.QuantileNear(w.sets, float64(p)/100, near)
			}
		}
		if next != nil {
			next[k] = m
		}
		for i, p := range metrics.Percentiles {
			l := make([]string, 0, len(w.labels)+1)
			l = append(l, w.labels[:at]...)
			l = append(l, metrics.PercentileLabel(p))
			l = append(l, w.labels[at:]...)
			out[key(l)] = &Sample{Labels: l, F: m.q[i], IsFloat: true, refs: 1}
		}
	}
	if memo != nil {
		memo.m[d.Name] = next // the series of this publish only
	}
	return out
}

// quantileMemo keeps, by family and series, the quantiles last published and what they were
// computed from. A steady poll changes the sets of a few series; computing every series'
// quantiles again, each a bisection over the values of tens of sets, was an eighth of a steady
// poll's CPU at a million leads.
type quantileMemo struct {
	m map[string]map[string]memoized
}

type memoized struct {
	gens uint64    // the sets' generations, mixed (generations)
	n    int       // how many sets
	q    []float64 // by metrics.Percentiles
}

// generations sums the sets' generations (quantile.Set.Gen), each mixed first: equal sums mean
// the same sets (in any order, as the series' sets come from a map) with the same values, but
// for a chance of 2^-64.
func generations(sets []*quantile.Set) uint64 {
	var sum uint64
	for _, s := range sets {
		x := s.Gen() // splitmix64's finalizer
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		sum += x ^ x>>31
	}
	return sum
}

// windowSet is the value sets that make up one window's series of a quantile family.
type windowSet struct {
	labels []string // the window, then the labels kept
	sets   []*quantile.Set
}

// windowSets gathers a quantile family's atoms (see atomLabel) into the sets of each window's
// series, by key(labels), keeping the first n labels (the period and fixed labels: an overall
// family's), or all of them for n < 0; windows without a value are left out.
func windowSets(f *Family, n int) map[string]*windowSet {
	windows := fiscal.Windows()
	out := map[string]*windowSet{}
	for _, x := range f.Series {
		m, ok := atomMask(x.Labels[0])
		if !ok || x.Q == nil || x.Q.Len() == 0 {
			continue
		}
		rest := x.Labels[1:]
		if n >= 0 {
			rest = x.Labels[1:n]
		}
		m.Each(func(i int) {
			labels := append([]string{string(windows[i])}, rest...)
			k := key(labels)
			w := out[k]
			if w == nil {
				w = &windowSet{labels: labels}
				out[k] = w
			}
			w.sets = append(w.sets, x.Q)
		})
	}
	return out
}
