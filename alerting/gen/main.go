// Command gen writes the Prometheus rules file and the Kubernetes PrometheusRule; run by go
// generate in alerting/.
package main

import (
	"log"
	"os"

	"github.com/tandem-oss/tandem/alerting"
)

func main() {
	rules := alerting.Build(alerting.Defaults())
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
