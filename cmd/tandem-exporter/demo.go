package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // pure-Go SQLite

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
)

// startDemo seeds an embedded SQLite database with the same generator and schema files as the
// PostgreSQL demo, starts the traffic simulator and returns a configuration that polls it.
func startDemo(ctx context.Context, logger *slog.Logger, dir string, leads int) (*config.Config, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "tandem-demo-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	path := filepath.Join(dir, "tandem-demo.sqlite")
	os.Remove(path)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_time_format=sqlite"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	logger.Info("generating demo data", "leads", leads, "database", path)
	stats, err := demo.Load(ctx, db, db,
		demo.Options{Seed: 1, Leads: leads, Now: now, Dirty: true}, nil)
	if err != nil {
		return nil, fmt.Errorf("loading demo data: %w", err)
	}
	logger.Info("demo data loaded", "leads", stats.Leads, "activities", stats.Activities, "opportunities", stats.Opportunities, "touchpoints", stats.Touchpoints)
	target, err := demo.SuggestedTarget(ctx, db, now)
	if err != nil {
		return nil, err
	}
	sim, err := demo.NewSimulator(ctx, db, db, uint64(now.UnixNano()))
	if err != nil {
		return nil, err
	}
	go sim.Run(ctx, 2*time.Second, func(err error) { logger.Warn("demo simulator", "err", err) })

	yml := fmt.Sprintf(`databases:
  crm: {driver: sqlite, dsn_env: TANDEM_DEMO_DSN, poll_interval: 5s, query_timeout: 5s}
  campaigns: {driver: sqlite, dsn_env: TANDEM_DEMO_DSN, poll_interval: 5s, query_timeout: 5s}
targets:
  currency_rates: {EUR: "%s", GBP: "%s"}
  revenue: {FY%d: "%s"}
`, demo.Rates["EUR"], demo.Rates["GBP"], now.Year(), strconv.FormatInt(target, 10))
	return config.Parse([]byte(yml), "(demo)", func(string) string { return dsn })
}
