package collectors

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// The health collector is the exporter reporting on itself: per database up, freshness, poll and
// query timings and errors, and data-quality counts.
func init() {
	register("health", func(cfg *config.Config, src Sources) prometheus.Collector {
		h := &healthCollector{cfg: cfg, src: src, descs: map[string]*prometheus.Desc{}}
		for _, d := range metrics.Health {
			h.descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.LabelNames(metrics.Dimensions{}), nil)
		}
		return h
	})
}

type healthCollector struct {
	cfg   *config.Config
	src   Sources
	descs map[string]*prometheus.Desc
}

var _ prometheus.Collector = (*healthCollector)(nil)

func (h *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range metrics.Health {
		ch <- h.descs[d.Name]
	}
}

func (h *healthCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(h.descs[name], prometheus.GaugeValue, v, labels...)
	}
	counter := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(h.descs[name], prometheus.CounterValue, v, labels...)
	}
	gauge(metrics.ExporterMapped, float64(tally.MappedBytes()))
	for _, db := range h.cfg.Sources() {
		p := h.src.Poller(db)
		if p == nil {
			continue
		}
		snap, health := p.Snapshot()
		name := string(db)
		up := 0.0
		if health.Up {
			up = 1
		}
		gauge(metrics.Up, up, name)
		if !health.LastSuccess.IsZero() {
			gauge(metrics.LastSuccessfulPoll, float64(health.LastSuccess.UnixNano())/1e9, name)
		}
		gauge(metrics.PollDuration, health.LastDuration.Seconds(), name)
		gauge(metrics.PollInterval, h.cfg.DB(db).PollInterval.Seconds(), name)
		counter(metrics.Polls, float64(health.Polls), name)
		counter(metrics.PollFailures, float64(health.Failures), name)
		for _, q := range source.QueriesFor(db) {
			if !h.cfg.DB(db).Enabled(q.Name) {
				continue
			}
			counter(metrics.QueryErrors, float64(health.QueryErrors[q.Name]), name, q.Name)
			counter(metrics.QueryRows, float64(health.QueryRows[q.Name]), name, q.Name)
			if d, ok := health.QueryDuration[q.Name]; ok {
				gauge(metrics.QueryDuration, d.Seconds(), name, q.Name)
			}
		}
		counter(metrics.FullReads, float64(health.FullReads), name)
		counter(metrics.TallyRebuilds, float64(health.TallyRebuilds), name)
		drift := make([][2]string, 0, len(health.Drift))
		for k := range health.Drift {
			drift = append(drift, k)
		}
		sort.Slice(drift, func(i, j int) bool { return drift[i][0]+drift[i][1] < drift[j][0]+drift[j][1] })
		for _, k := range drift {
			counter(metrics.ReconciliationDrift, float64(health.Drift[k]), name, k[0], k[1])
		}
		if snap != nil {
			for _, pr := range snap.SortedProblems() {
				gauge(metrics.DataQualityRows, float64(snap.Problems[pr]), name, pr.Query, pr.Check)
			}
		}
	}
}
