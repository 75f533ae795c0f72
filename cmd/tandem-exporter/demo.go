package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // pure-Go SQLite

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
)

// demoRun is a running embedded demo: its database, its simulator and its clock.
type demoRun struct {
	cfg   *config.Config
	clock func() time.Time
	db    *sqlx.DB
	stop  context.CancelFunc
	done  chan struct{}
	dir   string // removed by Close when the demo made it
}

// startDemo seeds an embedded SQLite database with the same generator and schema files as the
// PostgreSQL demo, starts the traffic simulator and returns a configuration that polls it. The
// demo's clock starts at start (now if zero) and runs at real speed: the generator, the
// simulator and the exporter all read it.
func startDemo(ctx context.Context, logger *slog.Logger, dir string, leads int, start time.Time) (*demoRun, error) {
	d := &demoRun{}
	if start.IsZero() {
		d.clock = time.Now
	} else {
		began := time.Now()
		d.clock = func() time.Time { return start.Add(time.Since(began)) }
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tandem-demo-")
		if err != nil {
			return nil, err
		}
		dir, d.dir = tmp, tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		// SQLite's own "unable to open database file" would not say which flag or why.
		return nil, fmt.Errorf("--demo.dir: %w", err)
	}
	path := filepath.Join(dir, "tandem-demo.sqlite")
	os.Remove(path)
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_time_format=sqlite"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.db = db
	fail := func(err error) (*demoRun, error) {
		d.Close()
		return nil, err
	}
	now := d.clock()
	logger.Info("generating demo data", "leads", leads, "database", path, "now", now.Format(time.RFC3339))
	stats, err := demo.Load(ctx, db, db, demo.Options{Seed: 1, Leads: leads, Now: now, Dirty: true}, nil)
	if err != nil {
		return fail(fmt.Errorf("loading demo data: %w", err))
	}
	logger.Info("demo data loaded", "leads", stats.Leads, "activities", stats.Activities, "opportunities", stats.Opportunities, "touchpoints", stats.Touchpoints)
	targets, err := demo.SuggestedTargets(ctx, db, now, demo.Calendar)
	if err != nil {
		return fail(err)
	}
	sim, err := demo.NewSimulator(ctx, db, db, uint64(now.UnixNano()))
	if err != nil {
		return fail(err)
	}
	// Live wins at the pace of the year's suggested target: the wall's pace stays near its history's.
	sim.WinAtPace(demo.YearTarget(targets, demo.Calendar, now))
	simCtx, stop := context.WithCancel(ctx)
	d.stop, d.done = stop, make(chan struct{})
	go func() {
		defer close(d.done)
		sim.Run(simCtx, 2*time.Second, d.clock, func(err error) { logger.Warn("demo simulator", "err", err) })
	}()

	yml := fmt.Sprintf(`databases:
  crm: {driver: sqlite, dsn_env: TANDEM_DEMO_DSN, poll_interval: 5s, query_timeout: 5s}
  campaigns: {driver: sqlite, dsn_env: TANDEM_DEMO_DSN, poll_interval: 5s, query_timeout: 5s}
targets:
  currency_rates: {EUR: "%s", GBP: "%s"}
  revenue:
%s`, demo.Rates["EUR"], demo.Rates["GBP"], demo.TargetsYAML(targets))
	if d.cfg, err = config.Parse([]byte(yml), "(demo)", func(string) string { return dsn }); err != nil {
		return fail(err)
	}
	return d, nil
}

// Close stops the simulator, closes the database and removes the demo's directory unless
// --demo.dir named it.
func (d *demoRun) Close() {
	if d.stop != nil {
		d.stop()
		<-d.done
	}
	if d.db != nil {
		d.db.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}
