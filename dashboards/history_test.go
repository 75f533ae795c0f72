package dashboards

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tandem-oss/tandem/backfill"
)

// A trend panel must find a sample at every step of the backfilled history: its look-back window
// is no shorter than the history's coarsest default spacing.
func TestTrendWindowCoversTheHistory(t *testing.T) {
	w, err := model.ParseDuration(historyWindow)
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(w) < backfill.DefaultPlan.Step || time.Duration(w) < backfill.DefaultPlan.RecentStep {
		t.Errorf("trend panels look back %s, the history is %s apart", historyWindow, backfill.DefaultPlan.Step)
	}
}
