// Package collectors exposes the pollers' snapshots as Prometheus metrics. Each collector is
// defined in its own file and registers itself there; descriptors are built once from the
// metrics catalogue, values are const metrics made at collect time from the last completed poll,
// so a scrape never touches a database.
package collectors

import (
	"sort"

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
}

var _ prometheus.Collector = (*snapshotCollector)(nil)

func newSnapshotCollector(cfg *config.Config, src Sources, db source.Database, defs []metrics.Def) *snapshotCollector {
	c := &snapshotCollector{db: db, src: src, defs: defs, descs: map[string]*prometheus.Desc{}}
	dims := tally.DimNames(cfg)
	for _, d := range defs {
		c.descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.LabelNames(dims), nil)
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
			case metrics.Histogram:
				buckets := make(map[float64]uint64, len(s.Buckets))
				for i, b := range metrics.LatencyBuckets {
					buckets[b] = s.Buckets[i]
				}
				ch <- prometheus.MustNewConstHistogram(desc, s.Count, s.Sum, buckets, s.Labels...)
			}
		}
	}
}
