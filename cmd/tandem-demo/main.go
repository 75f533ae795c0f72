// Command tandem-demo creates Tandem's reference schemas in PostgreSQL (or SQLite) and loads
// realistic, deterministic demo data of any size, then optionally keeps simulating live traffic
// so dashboards move.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/schollz/progressbar/v3"
	_ "modernc.org/sqlite"

	"github.com/tandem-oss/tandem/demo"
)

func main() {
	var (
		driver      = kingpin.Flag("driver", "Database driver: postgres or sqlite.").Default("postgres").Enum("postgres", "sqlite")
		crmDSN      = kingpin.Flag("crm.dsn", "CRM database DSN.").Envar("TANDEM_CRM_DSN").Required().String()
		campDSN     = kingpin.Flag("campaigns.dsn", "Campaign database DSN (may be the CRM's).").Envar("TANDEM_CAMPAIGNS_DSN").Required().String()
		leads       = kingpin.Flag("leads", "Number of leads to generate.").Default("20000").Int()
		seed        = kingpin.Flag("seed", "Random seed: the same seed and --now give the same data.").Default("1").Uint64()
		nowFlag     = kingpin.Flag("now", "The generator's 'now' (RFC 3339); the current time if empty.").String()
		days        = kingpin.Flag("days", "How many days of history to generate.").Default("400").Int()
		actsPerLead = kingpin.Flag("activities-per-lead", "Top activities up to this many per lead with notes (benchmark volume; the model yields about 1.5).").Default("0").Float64()
		oppsPerLead = kingpin.Flag("opportunities-per-lead", "Top opportunities up to this many per lead with expansion deals (benchmark volume; the model yields about 0.14).").Default("0").Float64()
		reset       = kingpin.Flag("reset", "Drop the reference tables first.").Bool()
		skipLoad    = kingpin.Flag("skip-load", "Do not load; only simulate on existing data.").Bool()
		ifEmpty     = kingpin.Flag("if-empty", "Load only if the leads table is empty or missing (for container start-up).").Bool()
		simulate    = kingpin.Flag("simulate", "After loading, keep simulating live traffic until interrupted.").Bool()
		simInterval = kingpin.Flag("simulate.interval", "Time between simulated steps.").Default("2s").Duration()
		configOut   = kingpin.Flag("config.out", "Write a tandem.yml here: --config.example with revenue targets that fit the data for the current fiscal year and its quarters.").String()
		configEx    = kingpin.Flag("config.example", "The configuration --config.out starts from.").Default("tandem.example.yml").String()
	)
	logConfig := &promslog.Config{}
	flag.AddFlags(kingpin.CommandLine, logConfig)
	kingpin.Version(version.Print("tandem-demo"))
	kingpin.HelpFlag.Short('h')
	kingpin.Parse()
	logger := promslog.New(logConfig)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := configFiles{example: *configEx, out: *configOut}
	if err := run(ctx, *driver, *crmDSN, *campDSN, *leads, *seed, *nowFlag, *days, *actsPerLead, *oppsPerLead, *reset, *skipLoad, *ifEmpty, *simulate, *simInterval, out, logger.Info); err != nil {
		logger.Error("tandem-demo failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, driver, crmDSN, campDSN string, leads int, seed uint64, nowFlag string, days int,
	actsPerLead, oppsPerLead float64, reset, skipLoad, ifEmpty, simulate bool, every time.Duration, files configFiles, info func(string, ...any)) error {
	clock := time.Now
	now := clock()
	if nowFlag != "" {
		t, err := time.Parse(time.RFC3339, nowFlag)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		now = t
		began := time.Now()
		clock = func() time.Time { return t.Add(time.Since(began)) }
	}
	crm, err := connect(ctx, driver, crmDSN)
	if err != nil {
		return fmt.Errorf("CRM database: %w", err)
	}
	defer crm.Close()
	camp := crm
	if campDSN != crmDSN {
		if camp, err = connect(ctx, driver, campDSN); err != nil {
			return fmt.Errorf("campaign database: %w", err)
		}
		defer camp.Close()
	}
	if reset {
		for _, x := range []struct {
			db     *sqlx.DB
			tables []string
		}{{crm, []string{"sales_activities", "opportunities", "leads", "owners"}}, {camp, []string{"marketing_touchpoints", "campaign_daily_stats", "campaigns"}}} {
			for _, t := range x.tables {
				if _, err := x.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
					return err
				}
			}
		}
	}
	if ifEmpty {
		var n int
		if err := crm.GetContext(ctx, &n, "SELECT count(*) FROM leads"); err == nil && n > 0 {
			info("data already loaded; skipping the load", "leads", n)
			skipLoad = true
		}
	}
	if !skipLoad {
		bar := progressbar.NewOptions(leads, progressbar.OptionSetDescription("generating leads"), progressbar.OptionShowCount(),
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowIts())
		started := time.Now()
		stats, err := demo.Load(ctx, crm, camp,
			demo.Options{Seed: seed, Leads: leads, Now: now, Days: days, Dirty: true,
				ActivitiesPerLead: actsPerLead, OpportunitiesPerLead: oppsPerLead}, func(done int) { bar.Set(done) }) //nolint:errcheck
		bar.Finish() //nolint:errcheck
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		info("demo data loaded", "duration", time.Since(started).Round(time.Millisecond), "owners", stats.Owners, "leads", stats.Leads,
			"activities", stats.Activities, "opportunities", stats.Opportunities, "campaigns", stats.Campaigns,
			"campaign_days", stats.CampaignDays, "touchpoints", stats.Touchpoints)
		if err := writeTargets(ctx, crm, now, files); err != nil {
			return err
		}
	}
	if !simulate {
		return nil
	}
	sim, err := demo.NewSimulator(ctx, crm, camp, seed^uint64(now.UnixNano()))
	if err != nil {
		return err
	}
	// Live wins at the pace of the year's suggested target, so the wall's pace stays near 100 %.
	targets, err := demo.SuggestedTargets(ctx, crm, now, demo.Calendar)
	if err != nil {
		return err
	}
	sim.WinAtPace(demo.YearTarget(targets, demo.Calendar, now))
	info("simulating live traffic", "interval", every)
	sim.Run(ctx, every, clock, func(err error) { info("simulator step failed", "err", err) })
	return nil
}

// connect opens a database, waiting up to a minute for it to accept connections (containers
// start in any order).
func connect(ctx context.Context, driver, dsn string) (*sqlx.DB, error) {
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid DSN")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if err = db.PingContext(ctx); err == nil {
			return db, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			db.Close()
			return nil, err
		}
		time.Sleep(time.Second)
	}
}
