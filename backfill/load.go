package backfill

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/source"
)

// Load reads every row of the configured databases through the live exporter's own pollers, at
// the clock now: the same queries (the user's custom ones included), the same data-quality checks
// (a bad row is skipped and counted, never backfilled) and the same mapping. close is for the
// caller's defer; the connections are closed already.
func Load(ctx context.Context, cfg *config.Config, logger *slog.Logger, now time.Time) (rows Rows, close func(), err error) {
	exp, err := exporter.New(cfg, logger, func() time.Time { return now })
	if err != nil {
		return Rows{}, nil, err
	}
	for _, db := range []source.Database{source.CRM, source.Campaigns} {
		if p := exp.Poller(db); p != nil {
			p.RowsOnly() // the backfill tallies them itself, at every instant
		}
	}
	if err := exp.PollOnce(ctx); err != nil {
		exp.Close()
		return Rows{}, nil, fmt.Errorf("reading the databases: %w", err)
	}
	// The rows only: the exporter's connections go, so that the backfill's own tallies are the
	// only ones in memory.
	if p := exp.Poller(source.CRM); p != nil {
		rows.CRM, _ = p.Detach()
	}
	if p := exp.Poller(source.Campaigns); p != nil {
		_, rows.Campaigns = p.Detach()
	}
	exp.Close()
	runtime.GC()
	return rows, func() {}, nil
}
