package collectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

// The funnel collector publishes leads, funnel stages, follow-up, opportunities and the shared
// revenue target from the CRM database.
func init() {
	register("funnel", func(cfg *config.Config, src Sources) prometheus.Collector {
		return newSnapshotCollector(cfg, src, source.CRM, metrics.CRM)
	})
}
