package collectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

// The campaigns collector publishes spend, impressions, clicks and touchpoints from the campaign
// database.
func init() {
	register("campaigns", func(cfg *config.Config, src Sources) prometheus.Collector {
		return newSnapshotCollector(cfg, src, source.Campaigns, metrics.Campaign)
	})
}
