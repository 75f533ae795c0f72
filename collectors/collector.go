// Package collectors exposes the pollers' snapshots as Prometheus metrics. Each collector is
// defined in its own file and registers itself there; descriptors are built once from the
// metrics catalogue, values are const metrics made at collect time from the last completed poll,
// so a scrape never touches a database.
package collectors

import (
	"bytes"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/poller"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// Sources gives the collectors the pollers' state.
type Sources interface {
	// Poller returns the poller of a database, or nil if that database is not configured.
	Poller(db source.Database) *poller.Poller
}

type factory func(cfg *config.Config, src Sources) prometheus.Collector

var factories = map[string]factory{}

// register is called from each collector file's init.
func register(name string, f factory) { factories[name] = f }

// Names lists the registered collectors.
func Names() []string {
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Register adds every collector to reg, and returns them by name.
func Register(reg prometheus.Registerer, cfg *config.Config, src Sources) (map[string]prometheus.Collector, error) {
	out := map[string]prometheus.Collector{}
	for _, name := range Names() {
		c := factories[name](cfg, src)
		if err := reg.Register(c); err != nil {
			return nil, err
		}
		out[name] = c
	}
	return out, nil
}

// Snapshot reports whether a collector publishes a poller's snapshot (changes only once per
// poll), as opposed to live values such as the exporter's health.
func Snapshot(name string) bool { return name != "health" }

// snapshotCollector publishes one database's catalogue of metrics from its poller's snapshot.
type snapshotCollector struct {
	db    source.Database
	src   Sources
	defs  []metrics.Def
	descs map[string]*prometheus.Desc
	text  map[string]text
	// written keeps, by family, what WriteText last wrote of it. A steady poll seldom adds or
	// drops a series, and changes the values of a few families of the hundred: the series are
	// written in the order kept for them (sorting a million leads' 12,500 series by their labels
	// again at every poll was about 5 ms of a steady poll's CPU), and a family whose values are
	// all the same is written from its text (formatting its lines again was most of the rest).
	mu      sync.Mutex
	written map[string]*written
}

// written is a family as WriteText last wrote it: its series' keys in the order written (by
// their label values, as client_golang writes them), their values' bits in that order, and the
// text.
type written struct {
	keys []string
	vals []uint64
	text []byte
}

// unchanged reports whether f has the series w was written with, and whether their values are
// the ones written too (then w's text is f's). A series' key is made of its labels.
func (w *written) unchanged(d metrics.Def, f *tally.Family) (series, values bool) {
	if len(w.keys) != len(f.Series) {
		return false, false
	}
	values = true
	for i, k := range w.keys {
		s, ok := f.Series[k]
		if !ok {
			return false, false
		}
		values = values && math.Float64bits(s.Value(d)) == w.vals[i]
	}
	return true, values
}

var _ prometheus.Collector = (*snapshotCollector)(nil)

func newSnapshotCollector(cfg *config.Config, src Sources, db source.Database, defs []metrics.Def) *snapshotCollector {
	c := &snapshotCollector{db: db, src: src, descs: map[string]*prometheus.Desc{}, text: map[string]text{}}
	for _, d := range defs {
		if db == source.CRM && metrics.NeedActivities[d.Name] && !cfg.DB(source.CRM).Enabled(source.QueryActivities) {
			continue // no activity data: no SLA numbers, rather than false ones
		}
		c.defs = append(c.defs, d)
	}
	dims := cfg.Dimensions
	for _, d := range c.defs {
		c.descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.LabelNames(dims), nil)
		c.text[d.Name] = textHeader(d, d.LabelNames(dims))
	}
	return c
}

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.defs {
		ch <- c.descs[d.Name]
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.src.Poller(c.db)
	if p == nil {
		return
	}
	snap, _ := p.Snapshot()
	if snap == nil {
		return // no completed poll yet: publish nothing rather than zeros that look real
	}
	// Built on every Collect: /metrics gathers this collector once per poll (the exporter encodes
	// each new snapshot right after it), so there is nothing to cache here.
	for _, d := range c.defs {
		f := snap.Families[d.Name]
		if f == nil {
			continue
		}
		desc := c.descs[d.Name]
		for _, s := range f.Series {
			switch d.Type {
			case metrics.Counter:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, s.Value(d), s.Labels...)
			case metrics.Gauge:
				ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, s.Value(d), s.Labels...)

			}
		}
	}
}

// text holds what WriteText needs of a family, prepared once: the label names in the order
// client_golang writes them (sorted), and the HELP and TYPE lines.
type text struct {
	order  []int // positions of the def's labels, sorted by label name
	names  []string
	header string
}

// WriteText appends the collector's current snapshot to buf in the Prometheus text format,
// exactly as client_golang's registry would encode it (labels sorted by name, series sorted by
// label values, families in catalogue order), without building a const metric per series: the
// exporter encodes each new snapshot once, right after its poll, and at a million leads the
// registry path cost more than the poll itself. A family whose series and values are those it
// wrote last time is written from that text.
func (c *snapshotCollector) WriteText(buf *bytes.Buffer, snap *tally.Snapshot) {
	if snap == nil {
		return // no completed poll yet
	}
	c.mu.Lock() // what was last written is one writer's
	defer c.mu.Unlock()
	if c.written == nil {
		c.written = map[string]*written{}
	}
	var num []byte
	value := func(f float64) {
		switch {
		case f == 1:
			buf.WriteByte('1')
		case f == 0:
			buf.WriteByte('0')
		case f == -1:
			buf.WriteString("-1")
		case math.IsNaN(f):
			buf.WriteString("NaN")
		case math.IsInf(f, 1):
			buf.WriteString("+Inf")
		case math.IsInf(f, -1):
			buf.WriteString("-Inf")
		default:
			num = strconv.AppendFloat(num[:0], f, 'g', -1, 64)
			buf.Write(num)
		}
	}
	for _, d := range c.defs {
		f := snap.Families[d.Name]
		if f == nil || len(f.Series) == 0 {
			continue // client_golang writes no family without series
		}
		t := c.text[d.Name]
		w := c.written[d.Name]
		if w == nil {
			w = &written{}
			c.written[d.Name] = w
		}
		series, values := w.unchanged(d, f)
		if values {
			buf.Write(w.text)
			continue
		}
		if !series {
			w.keys = sortedKeys(f, t.order)
		}
		start := buf.Len()
		buf.WriteString(t.header)
		w.vals = w.vals[:0]
		for _, k := range w.keys {
			s := f.Series[k]
			buf.WriteString(d.Name)
			sep := byte('{')
			for i, k := range t.order {
				buf.WriteByte(sep)
				sep = ','
				buf.WriteString(t.names[i])
				buf.WriteString(`="`)
				escapeLabel(buf, s.Labels[k])
				buf.WriteByte('"')
			}
			if sep == ',' {
				buf.WriteByte('}')
			}
			buf.WriteByte(' ')
			v := s.Value(d)
			value(v)
			buf.WriteByte('\n')
			w.vals = append(w.vals, math.Float64bits(v))
		}
		w.text = append(w.text[:0], buf.Bytes()[start:]...)
	}
}

// sortedKeys returns the keys of a family's series in the order of their label values, taken in
// the order of their label names (order), as client_golang writes them.
func sortedKeys(f *tally.Family, order []int) []string {
	type keyed struct {
		k      string
		labels []string
	}
	series := make([]keyed, 0, len(f.Series))
	for k, s := range f.Series {
		series = append(series, keyed{k, s.Labels})
	}
	sort.Slice(series, func(i, j int) bool {
		a, b := series[i].labels, series[j].labels
		for _, k := range order {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	keys := make([]string, len(series))
	for i, s := range series {
		keys[i] = s.k
	}
	return keys
}

func escapeLabel(buf *bytes.Buffer, v string) {
	if !needsEscape(v) {
		buf.WriteString(v)
		return
	}
	for _, r := range v {
		switch r {
		case '\\':
			buf.WriteString(`\\`)
		case '"':
			buf.WriteString(`\"`)
		case '\n':
			buf.WriteString(`\n`)
		default:
			buf.WriteRune(r)
		}
	}
}

// needsEscape reports whether a label value holds a byte the text format escapes, by a loop over
// its bytes: strings.ContainsAny builds its set of bytes again at every call, and took 2.4 times
// as long over typical label values (BenchmarkNeedsEscape).
func needsEscape(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\\' || c == '"' || c == '\n' {
			return true
		}
	}
	return false
}

func textHeader(d metrics.Def, labels []string) text {
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return labels[order[i]] < labels[order[j]] })
	names := make([]string, len(order))
	for i, k := range order {
		names[i] = labels[k]
	}
	help := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(d.Help)
	return text{order: order, names: names, header: "# HELP " + d.Name + " " + help + "\n# TYPE " + d.Name + " " + string(d.Type) + "\n"}
}

// Snapshot returns the snapshot the collector publishes (nil before the first poll).
func (c *snapshotCollector) Snapshot() *tally.Snapshot {
	p := c.src.Poller(c.db)
	if p == nil {
		return nil
	}
	snap, _ := p.Snapshot()
	return snap
}

// TextWriter is a collector that can write a snapshot's text exposition directly.
type TextWriter interface {
	Snapshot() *tally.Snapshot
	WriteText(*bytes.Buffer, *tally.Snapshot)
}
