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
	if c.DB(source.Campaigns) == nil || c.Revenue["FY2026-Q4"] != 350000000 {
		t.Errorf("example not read as written: %+v", c.Targets)
	}
	if s, ok := c.StatusMap.Stage("recycled"); !ok || s != funnel.MQL {
		t.Errorf("status_map from the example not applied")
	}
}
