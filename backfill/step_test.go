package backfill

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/internal/strictmain"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/tally"
)

func TestMain(m *testing.M) { strictmain.Main(m) }

// loadDemo puts demo data generated at now into a fresh database and reads it as the backfill
// command does.
func loadDemo(t *testing.T, now time.Time, zone string, leads int) (*config.Config, Rows, *sqlx.DB) {
	t.Helper()
	url := testdb.New(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := demo.Load(context.Background(), db, db, demo.Options{Seed: 21, Leads: leads, Now: now, Days: 120, Dirty: true}, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`databases:
  crm: {dsn_env: D, poll_interval: 1m, query_timeout: 30s}
  campaigns: {dsn_env: D, poll_interval: 1m, query_timeout: 30s}
targets:
  timezone: %s
  currency_rates: {EUR: "1.08", GBP: "1.27"}
sla: {target: 2h, attempts: {count: 2, within: 48h}}
`, zone)), "t.yml", func(string) string { return url })
	if err != nil {
		t.Fatal(err)
	}
	rows, closeRows, err := Load(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeRows)
	return cfg, rows, db
}

// text renders the backfilled families of snapshots, one line per series, sorted.
func text(ss ...*tally.Snapshot) []string {
	var out []string
	for _, d := range Families() {
		for _, s := range ss {
			if s == nil || s.Families[d.Name] == nil {
				continue
			}
			for _, x := range s.Families[d.Name].Sorted() {
				v := x.Value(d)
				out = append(out, fmt.Sprintf("%s%q %.9g", d.Name, x.Labels, math.Round(v*1e6)/1e6))
			}
		}
	}
	sort.Strings(out)
	return out
}

// The stepper (the live tallies walked forward, recomputing only what changed between instants)
// gives at every instant what a tally from scratch at that instant gives: hourly across day,
// week, month and quarter boundaries, at the simulated instants (DST days, leap day, quarter and
// year ends), with the demo's dirty rows in.
func TestStepperEqualsFreshTally(t *testing.T) {
	for _, in := range instants.All(time.Now(), time.January) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			now := in.At
			cfg, rows, _ := loadDemo(t, now, in.TimeZone(), 400)
			// Hourly over the two days before the instant, daily over the month before.
			plan := Plan{Range: 30 * 24 * time.Hour, Step: 24 * time.Hour, Recent: 50 * time.Hour, RecentStep: time.Hour}
			folder := tally.NewFolder(cfg.Caps)
			tallyAt(cfg, folder, rows, now)
			instants := plan.Instants(now)
			step := newStepper(cfg, folder, rows, instants[0])
			for _, at := range instants {
				c1, r1 := step.at(at)
				c2, r2 := tallyAt(cfg, folder, rows, at)
				got, want := text(c1, r1), text(c2, r2)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("at %s: the stepper differs from a fresh tally:\n%s", at.In(in.Zone).Format(time.RFC3339), diff(got, want))
				}
			}
			// A roll-over moves the sums and recounts only what is dated in the new periods:
			// no instant but the first recounts every lead, not even a new week, month or year.
			if n := step.crm.Rebuilds; n != 1 {
				t.Errorf("%d of %d instants recounted every lead, want the first only", n, len(instants))
			}
		})
	}
}

// diff lists the lines only one side has (up to 20).
func diff(got, want []string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, l := range got {
		g[l] = true
	}
	for _, l := range want {
		w[l] = true
	}
	var out []string
	for _, l := range got {
		if !w[l] {
			out = append(out, "stepper: "+l)
		}
	}
	for _, l := range want {
		if !g[l] {
			out = append(out, "fresh:   "+l)
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}
