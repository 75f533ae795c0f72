package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"
	"github.com/schollz/progressbar/v3"

	"github.com/tandem-oss/tandem/backfill"
	"github.com/tandem-oss/tandem/config"
)

// backfillFlags are the backfill command's flags.
type backfillFlags struct {
	output, rangeS, step, recent, recentStep *string
	job, instance, promURL                   *string
	labels                                   *[]string
	skipExisting                             *bool
	now                                      *string
}

func addBackfillFlags(cmd *kingpin.CmdClause) *backfillFlags {
	d := backfill.DefaultPlan
	return &backfillFlags{
		output:     cmd.Flag("backfill.output", "File to write the OpenMetrics history to (then: promtool tsdb create-blocks-from openmetrics FILE DATA_DIR). Written whole or not at all.").Required().String(),
		rangeS:     cmd.Flag("backfill.range", "How far back the history goes.").Default(model.Duration(d.Range).String()).String(),
		step:       cmd.Flag("backfill.step", "Spacing of the instants older than --backfill.recent.").Default(model.Duration(d.Step).String()).String(),
		recent:     cmd.Flag("backfill.recent", "The most recent span, computed every --backfill.recent-step.").Default(model.Duration(d.Recent).String()).String(),
		recentStep: cmd.Flag("backfill.recent-step", "Spacing of the instants within --backfill.recent.").Default(model.Duration(d.RecentStep).String()).String(),
		job:        cmd.Flag("backfill.job", "The job label Prometheus gives the exporter's scrapes: the history must be the same series as the live scrapes.").Default("tandem").String(),
		instance:   cmd.Flag("backfill.instance", "The instance label Prometheus gives the exporter's scrapes (the target's host:port, exporter:9866 in the compose stack).").Required().String(),
		labels:     cmd.Flag("backfill.label", "Another label the scrape adds (name=value), such as one set by relabelling; repeatable.").Strings(),
		promURL:    cmd.Flag("backfill.prometheus-url", "A running Prometheus to backfill (its HTTP API): the history then ends at the target's first live scrape, and a range it already holds history for is refused.").String(),
		skipExisting: cmd.Flag("backfill.skip-existing", "If --backfill.output exists already, exit 0 without writing (for a one-shot that runs at every start); "+
			"without it an existing output is refused.").Bool(),
		now: cmd.Flag("backfill.now", "Compute the history as of this instant (RFC 3339) instead of now; for tests and reproducible runs.").Hidden().String(),
	}
}

// plan parses the plan flags, naming the one that is wrong.
func (f *backfillFlags) plan() (backfill.Plan, error) {
	var p backfill.Plan
	for _, x := range []struct {
		name string
		s    *string
		d    *time.Duration
	}{{"--backfill.range", f.rangeS, &p.Range}, {"--backfill.step", f.step, &p.Step}, {"--backfill.recent", f.recent, &p.Recent}, {"--backfill.recent-step", f.recentStep, &p.RecentStep}} {
		d, err := model.ParseDuration(*x.s)
		if err != nil {
			return p, fmt.Errorf("%s %q: %w (use a duration such as 400d, 1d or 1h)", x.name, *x.s, err)
		}
		*x.d = time.Duration(d)
	}
	return p, p.Validate()
}

// runBackfill is the backfill command: the history of the event-time series, as a scrape at each
// past instant would have seen it on the rows the databases hold now.
func runBackfill(ctx context.Context, cfg *config.Config, logger *slog.Logger, f *backfillFlags) error {
	plan, err := f.plan()
	if err != nil {
		return err
	}
	target, err := backfill.ParseLabels(*f.labels)
	if err != nil {
		return err
	}
	if *f.job == "" || *f.instance == "" {
		return errors.New("--backfill.job and --backfill.instance must not be empty: they are the labels of the live series the history continues")
	}
	target["job"], target["instance"] = *f.job, *f.instance
	now := time.Now()
	if *f.now != "" {
		if now, err = time.Parse(time.RFC3339, *f.now); err != nil {
			return fmt.Errorf("--backfill.now: %w", err)
		}
	}
	if _, err := os.Stat(*f.output); err == nil {
		if *f.skipExisting {
			logger.Info("backfill already written; nothing to do", "output", *f.output)
			return nil
		}
		return fmt.Errorf("--backfill.output %s exists: a backfill was already written there. Load it with promtool tsdb create-blocks-from openmetrics, or remove it to rerun", *f.output)
	}

	end := now
	if *f.promURL != "" {
		client := &http.Client{Timeout: time.Minute}
		ex, err := backfill.Inspect(ctx, client, *f.promURL, target, now.Add(-plan.Range), now)
		if err != nil {
			return err
		}
		if ex.Backfilled {
			to := now
			if !ex.FirstLive.IsZero() {
				to = ex.FirstLive
			}
			return &backfill.RefusalError{Base: *f.promURL, Target: target, From: now.Add(-plan.Range), To: to}
		}
		if !ex.FirstLive.IsZero() {
			end = ex.FirstLive
			logger.Info("the history ends at the first live scrape", "first_scrape", ex.FirstLive.Format(time.RFC3339))
		}
	}

	logger.Info("reading the databases")
	rows, closeRows, err := backfill.Load(ctx, cfg, logger, now)
	if err != nil {
		return err
	}
	defer closeRows()

	tmp, err := os.CreateTemp(filepath.Dir(*f.output), filepath.Base(*f.output)+".tmp-*")
	if err != nil {
		return fmt.Errorf("--backfill.output: %w", err)
	}
	defer os.Remove(tmp.Name()) // once renamed, a no-op
	opt := backfill.Options{Plan: plan, Target: target, End: end, TempDir: filepath.Dir(*f.output), Progress: progress(logger, len(plan.Instants(end)))}
	res, err := backfill.Write(cfg, rows, now, opt, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		// promtool may run as another user (the Prometheus image's nobody): the history is
		// the numbers /metrics serves to anyone, not a secret.
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *f.output); err != nil {
		return err
	}
	logger.Info("backfill written", "output", *f.output, "instants", res.Instants, "samples", res.Samples, "full_recounts", res.Recounts,
		"from", res.From.Format(time.RFC3339), "to", res.To.Format(time.RFC3339))
	fmt.Fprintf(os.Stderr, "Next: promtool tsdb create-blocks-from openmetrics --max-block-duration=%s %s <Prometheus data directory>\n", backfill.BlockDuration, *f.output)
	return nil
}

// progress shows a progress bar on a terminal, and a log line every tenth otherwise (a one-shot
// container's log).
func progress(logger *slog.Logger, total int) func(done, total int) {
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		bar := progressbar.NewOptions(total, progressbar.OptionSetDescription("backfilling instants"), progressbar.OptionShowCount(),
			progressbar.OptionSetWriter(os.Stderr), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
		return func(done, _ int) { bar.Set(done) } //nolint:errcheck
	}
	next := 0
	return func(done, total int) {
		if done*10 >= next*total {
			logger.Info("backfilling", "instants_done", done, "instants", total)
			next = done*10/total + 1
		}
	}
}
