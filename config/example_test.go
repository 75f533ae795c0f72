package config

import (
	"testing"

	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/source"
)

// The commented example in the repository is a valid configuration.
func TestExampleConfig(t *testing.T) {
	c, err := Load("../tandem.example.yml", withDSN)
	if err != nil {
		t.Fatal(err)
	}
	// No revenue target: any fixed fiscal year would go stale (tandem-demo --config.out fills them).
	if c.DB(source.Campaigns) == nil || len(c.Revenue) != 0 || c.Rates["GBP"].String() != "1.27" {
		t.Errorf("example not read as written: %+v", c.Targets)
	}
	if s, ok := c.StatusMap.Stage("recycled"); !ok || s != funnel.MQL {
		t.Errorf("status_map from the example not applied")
	}
}
