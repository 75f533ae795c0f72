package tally

import (
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
)

// globals adds what does not come from rows: each window's bounds, elapsed share and name, the
// shared targets, settings published for dashboards, and the zeros of the totals that must be
// published even when no row adds to them.
func (c *CRM) globals(s *Snapshot) {
	for _, sp := range c.spans {
		w := string(sp.Window)
		s.set(metrics.PeriodElapsed, sp.ElapsedRatio(c.now), w)
		s.set(metrics.PeriodStart, float64(sp.Start.Unix()), w)
		s.set(metrics.PeriodEnd, float64(sp.End.Unix()), w)
		s.add(metrics.PeriodInfo, 1, w, sp.Name)
		for _, d := range []string{metrics.RevenueWon, metrics.SourcedRevenue, metrics.InfluencedRevenue} {
			s.add(d, 0, w) // a period with no revenue yet publishes 0
		}
		if sp.Window.Current() {
			s.add(metrics.PipelineOpen, 0, w)
			s.add(metrics.PipelineWeighted, 0, w)
		}
		if sp.Kind != fiscal.Quarter && sp.Kind != fiscal.Year {
			continue
		}
		t, ok := c.cfg.TargetFor(sp.Period)
		if ok {
			s.add(metrics.RevenueTarget, int64(t), w)
		}
		if sp.Window.Current() {
			missing := 1.0
			if ok {
				missing = 0
			}
			s.set(metrics.TargetMissing, missing, w, sp.Name)
		}
	}
	for _, d := range []string{metrics.SourcedPipeline, metrics.InfluencedPipeline} {
		s.add(d, 0) // published even when zero
	}
	s.set(metrics.SLATarget, c.cfg.SLA.Target.Seconds())
	s.set(metrics.PageWindow, c.cfg.SLA.PageWindow.Seconds())
	s.add(metrics.ReportingCurrency, 1, c.cfg.Targets.ReportingCurrency)
	// Families that must exist even when empty.
	for _, d := range metrics.CRM {
		s.family(d.Name)
	}
}
