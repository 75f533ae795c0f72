// Command tandem-dashboards writes Tandem's Grafana dashboards as JSON for file provisioning.
// With --config.file the dashboards use that configuration's reporting currency and SLA target.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alecthomas/kingpin/v2"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/dashboards"
)

func main() {
	out := kingpin.Flag("out", "Directory to write the dashboards to.").Default("deploy/grafana/dashboards").String()
	cfgFile := kingpin.Flag("config.file", "Take the reporting currency and SLA target from this tandem.yml (DSN variables need not be set).").String()
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()

	opts := dashboards.DefaultOptions()
	if *cfgFile != "" {
		c, err := config.Load(*cfgFile, func(string) string { return "unused" })
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		opts = dashboards.OptionsFrom(c)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, d := range dashboards.All {
		b, err := dashboards.Render(d, opts)
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, d.File), b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
