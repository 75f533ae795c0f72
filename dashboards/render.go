package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/tandem-oss/tandem/config"
)

//go:generate go run ../cmd/tandem-dashboards --out ../deploy/grafana/dashboards
//go:generate go run ../cmd/tandem-dashboards --out ../deploy/kubernetes/generated/dashboards

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID, File string
	Build     func(Options) *dashboard.DashboardBuilder
}

// All lists every dashboard, the leadership wall first.
var All = []Dashboard{
	{UIDWall, "wall.json", Wall},
	{UIDMarketing, "marketing.json", Marketing},
	{UIDSales, "sales.json", Sales},
	{UIDSLA, "followup-sla.json", SLA},
	{UIDHealth, "exporter-health.json", Health},
}

// DefaultOptions are the defaults of the exporter's configuration, so the committed dashboards
// speak the default reporting currency and SLA target.
func DefaultOptions() Options { return OptionsFrom(config.Default()) }

// OptionsFrom takes the options from a loaded configuration.
func OptionsFrom(c *config.Config) Options {
	return Options{Currency: c.Targets.ReportingCurrency, SLATarget: c.SLA.Target.Seconds(), FiscalStartMonth: c.Targets.FiscalYearStartMonth}
}

// Render builds a dashboard to Grafana's classic dashboard JSON.
func Render(d Dashboard, o Options) ([]byte, error) {
	b := d.Build(o)
	if o.FiscalStartMonth >= 1 && o.FiscalStartMonth <= 12 {
		// Grafana's fiscal ranges (now/fQ, this fiscal year) follow the company's calendar; the
		// field counts months from 0.
		b = b.FiscalYearStartMonth(uint8(o.FiscalStartMonth - 1))
	}
	built, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	out, err := json.MarshalIndent(built, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
