package backfill

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/tally"
)

// BlockDuration is the --max-block-duration to give promtool tsdb create-blocks-from openmetrics:
// promtool reads its whole input once per block, so 2-hour blocks (its default) over 400 days
// would read it 4,800 times; 31 days is the largest block Prometheus itself compacts to.
const BlockDuration = "744h"

// Rows are the databases' rows as read now; either may be nil (database not configured).
type Rows struct {
	CRM       tally.CRMRows
	Campaigns tally.CampaignRows
}

// Options are a backfill's settings.
type Options struct {
	Plan Plan
	// Target are the labels Prometheus adds to the live scrapes (job, instance): the backfilled
	// series must be the same series.
	Target map[string]string
	// TempDir holds the per-family spool files ("" for the system's).
	TempDir string
	// End is where the history ends and the live scrapes begin (zero: now). Every instant lies
	// before it.
	End time.Time
	// Progress is called after each instant (done of total); nil for none.
	Progress func(done, total int)
}

// Result says what a backfill wrote.
type Result struct {
	Instants int
	Samples  int64
	From, To time.Time
	// Recounts is how many instants recomputed every lead (the first, and any that changed
	// more than the live tally recounts lead by lead); the others recomputed only the leads
	// that changed or had a timestamp in the periods a roll-over made new.
	Recounts uint64
}

// gcPercent is the garbage collector's target while the backfill tallies (GOGC, when set, wins).
// The stepper makes its garbage on top of every row held in memory, and at the default 100 the
// heap may grow to twice all that before a collection: at a million leads 2.4 GiB of RSS, against
// 1.5 GiB for the live exporter's cold start. Most of what it holds (the rows' columns, the
// events, the value sets) has no pointers for a collection to follow, so collecting four times as
// often costs little time; it is a batch job, which can trade some for memory.
const gcPercent = 25

// Write computes every instant of the plan before opt.End (or now) and writes the OpenMetrics text to out.
// The instants are tallied in time order by the live tallies, on the rows as they stood then
// (stepper); the label folder is shared and first fed the rows as they stand now, so that a label value keeps
// the name (or the "other") the live exporter gives it.
func Write(cfg *config.Config, rows Rows, now time.Time, opt Options, out io.Writer) (Result, error) {
	if err := opt.Plan.Validate(); err != nil {
		return Result{}, err
	}
	end := opt.End
	if end.IsZero() || end.After(now) {
		end = now
	}
	instants := opt.Plan.Instants(end)
	if len(instants) == 0 {
		return Result{}, fmt.Errorf("no instant to backfill in --backfill.range %s before %s", opt.Plan.Range, end.Format(time.RFC3339))
	}
	w, err := newWriter(Families(), cfg.Dimensions, sortedTarget(opt.Target), opt.TempDir)
	if err != nil {
		return Result{}, err
	}
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}
	folder := tally.NewFolder(cfg.Caps)
	tallyAt(cfg, folder, rows, now) // admits the label values as the live exporter does
	runtime.GC()                    // and is garbage: not beside the stepper's tallies
	step := newStepper(cfg, folder, rows, instants[0])
	for i, t := range instants {
		camp, crm := step.at(t)
		if err := w.add(camp, t); err != nil {
			w.close()
			return Result{}, err
		}
		if err := w.add(crm, t); err != nil {
			w.close()
			return Result{}, err
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(instants))
		}
	}
	if err := w.finish(out); err != nil {
		return Result{}, err
	}
	res := Result{Instants: len(instants), Samples: w.Samples, From: instants[0], To: instants[len(instants)-1]}
	if step.crm != nil {
		res.Recounts = step.crm.Rebuilds
	}
	return res, nil
}

// tallyAt tallies the rows as they stood at t from scratch, as a first poll of the live exporter
// at t would: the campaign side first, its touches then joined into the CRM's. The stepper gives
// the same for less; this is its reference.
func tallyAt(cfg *config.Config, folder *tally.Folder, rows Rows, t time.Time) (camp, crm *tally.Snapshot) {
	var feed *tally.TouchFeed
	if rows.Campaigns != nil {
		view := &campaignsAt{rows: rows.Campaigns, t: t}
		live := tally.NewLiveCampaigns(cfg, folder)
		if rows.CRM != nil {
			feed = tally.NewTouchFeed()
			live.Share(feed)
		}
		camp, _ = live.Update(view, nil, nil, true, func() {}, t)
	}
	if rows.CRM != nil {
		view := viewCRM(rows.CRM)
		view.t = t
		crm = tally.NewLiveCRM(cfg, folder, feed).Update(view, map[int64]bool{}, true, func() {}, t)
	}
	return camp, crm
}
