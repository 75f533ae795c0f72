// Command gen writes the Prometheus rules file and the Kubernetes PrometheusRule; run by go
// generate in alerting/.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/tandem-oss/tandem/alerting"
	"github.com/tandem-oss/tandem/config"
)

func main() {
	cfgFile := flag.String("config.file", "", "Take the Grafana URL (grafana.url) from this tandem.yml; DSN variables need not be set.")
	flag.Parse()
	opts := alerting.Defaults()
	if *cfgFile != "" {
		c, err := config.Load(*cfgFile, func(string) string { return "unused" })
		if err != nil {
			log.Fatal(err)
		}
		opts = alerting.OptionsFrom(c)
	}
	rules := alerting.Build(opts)
	for file, render := range map[string]func(alerting.File) ([]byte, error){
		"../deploy/prometheus/rules/tandem.rules.yml":        alerting.YAML,
		"../deploy/kubernetes/generated/prometheusrule.yaml": alerting.PrometheusRuleYAML,
	} {
		out, err := render(rules)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(file, out, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
