package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/internal/instants"
	"github.com/tandem-oss/tandem/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// At every instant, tandem-demo writes a tandem.yml whose targets cover the fiscal year "now"
// is in and each of its quarters, sized from the data: the wall has a pace to show, never
// "No target set", and the file is a valid configuration.
func TestConfigOutHasCurrentTargets(t *testing.T) {
	for _, in := range instants.All(time.Now(), time.January) {
		t.Run(in.Name, func(t *testing.T) {
			url := testdb.New(t)
			out := filepath.Join(t.TempDir(), "tandem.yml")
			files := configFiles{example: "../../tandem.example.yml", out: out}
			if err := run(context.Background(), "postgres", url, url, 600, 1, in.At.Format(time.RFC3339), 400, 0, 0,
				false, false, false, false, time.Second, files, func(string, ...any) {}); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(out, func(string) string { return url })
			if err != nil {
				t.Fatal(err)
			}
			year := cfg.Calendar.Period(fiscal.Year, in.At)
			yt, ok := cfg.TargetFor(year)
			if !ok || yt <= 0 {
				t.Fatalf("no target for %s: %v", year.Name, cfg.Revenue)
			}
			var sum int64
			for q := year.Start; q.Before(year.End); q = cfg.Calendar.Period(fiscal.Quarter, q).End {
				p := cfg.Calendar.Period(fiscal.Quarter, q)
				qt, ok := cfg.Revenue[p.Name]
				if !ok || qt <= 0 {
					t.Errorf("no target of its own for %s: %v", p.Name, cfg.Revenue)
				}
				sum += int64(qt)
			}
			if sum != int64(yt) {
				t.Errorf("quarters add up to %d, the year's target is %d", sum, yt)
			}
		})
	}
}
