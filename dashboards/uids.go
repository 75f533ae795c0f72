// Package dashboards generates Tandem's Grafana dashboards. The UIDs are fixed so that links
// (between dashboards, and from alerts to the follow-up SLA board) never break.
package dashboards

// Fixed dashboard UIDs.
const (
	UIDWall      = "tandem-wall"
	UIDMarketing = "tandem-marketing"
	UIDSales     = "tandem-sales"
	UIDSLA       = "tandem-followup-sla"
	UIDHealth    = "tandem-exporter-health"
)
