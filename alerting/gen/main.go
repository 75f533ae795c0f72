// Command gen writes deploy/prometheus/rules/tandem.rules.yml; run by go generate in alerting/.
package main

import (
	"log"
	"os"

	"github.com/tandem-oss/tandem/alerting"
)

func main() {
	out, err := alerting.YAML(alerting.Build(alerting.Defaults()))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("../deploy/prometheus/rules/tandem.rules.yml", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
