// Package bench measures Tandem's poll against the way a generic SQL exporter computes the same
// numbers (full GROUP BY aggregates on every scrape), on one PostgreSQL database in the same run,
// and reports ratios. Run with make bench (not part of make test); TANDEM_BENCH_LEADS sets the
// scale (default 100,000 leads).
package bench_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tandem-oss/tandem/backfill"
	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/demo"
	"github.com/tandem-oss/tandem/exporter"
	"github.com/tandem-oss/tandem/internal/gcpercent"
	"github.com/tandem-oss/tandem/internal/heaplimit"
	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

func TestMain(m *testing.M) {
	gcpercent.Set(gcpercent.Default) // the exporter's (--runtime.gogc), unless GOGC is set
	heaplimit.Follow()               // GOMEMLIMIT, if set, holds the stores too, as in the exporter
	code := m.Run()
	if shared != nil {
		shared.db.Close()
		shared.drop()
	}
	testdb.Stop()
	os.Exit(code)
}

// genericQueries are the aggregates a generic SQL exporter (sql_exporter, query-exporter) would
// run for the same dashboards, written honestly: one GROUP BY per metric family, over the
// indexed reference schema.
var genericQueries = []string{
	`SELECT l.source, l.region, l.segment, o.sales_team, count(*) FROM leads l LEFT JOIN owners o ON o.id = l.owner_id GROUP BY 1, 2, 3, 4`,
	`SELECT l.source, l.region, l.segment, o.sales_team, count(l.mql_at), count(l.sql_at), count(l.disqualified_at)
	   FROM leads l LEFT JOIN owners o ON o.id = l.owner_id GROUP BY 1, 2, 3, 4`,
	`SELECT l.source, l.region, l.disqualified_reason, count(*) FROM leads l WHERE l.disqualified_at IS NOT NULL GROUP BY 1, 2, 3`,
	`SELECT l.source, a.kind, count(*) FROM sales_activities a JOIN leads l ON l.id = a.lead_id AND a.occurred_at >= l.created_at GROUP BY 1, 2`,
	`WITH ft AS (SELECT a.lead_id, min(a.occurred_at) AS t FROM sales_activities a JOIN leads l ON l.id = a.lead_id
	   WHERE a.kind IN ('call', 'email', 'meeting') AND a.occurred_at >= l.mql_at GROUP BY a.lead_id)
	 SELECT l.source, l.region, width_bucket(EXTRACT(EPOCH FROM ft.t - l.mql_at), ARRAY[60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]::float8[]), count(*)
	   FROM leads l JOIN ft ON ft.lead_id = l.id GROUP BY 1, 2, 3`,
	`SELECT l.source, l.region, count(*), max(now() - l.mql_at) FROM leads l
	   WHERE l.mql_at IS NOT NULL AND l.disqualified_at IS NULL
	     AND NOT EXISTS (SELECT 1 FROM sales_activities a WHERE a.lead_id = l.id)
	     AND NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.lead_id = l.id) GROUP BY 1, 2`,
	`SELECT l.source, o.is_closed, o.is_won, o.stage_name, count(*), sum(o.amount) FROM opportunities o LEFT JOIN leads l ON l.id = o.lead_id GROUP BY 1, 2, 3, 4`,
	`SELECT c.channel, c.name, sum(s.spend), sum(s.impressions), sum(s.clicks) FROM campaign_daily_stats s JOIN campaigns c ON c.id = s.campaign_id GROUP BY 1, 2`,
	`SELECT c.channel, t.kind, count(*) FROM marketing_touchpoints t LEFT JOIN campaigns c ON c.id = t.campaign_id GROUP BY 1, 2`,
}

type setup struct {
	db     *sqlx.DB
	drop   func()
	url    string
	leads  int
	loaded time.Duration
}

var shared *setup

func load(b *testing.B) *setup {
	if shared != nil {
		return shared
	}
	leads := 100000
	if v, err := strconv.Atoi(os.Getenv("TANDEM_BENCH_LEADS")); err == nil && v > 0 {
		leads = v
	}
	if url := os.Getenv("TANDEM_BENCH_DSN"); url != "" {
		// A database loaded before (tandem-demo --leads N --activities-per-lead 5
		// --opportunities-per-lead 0.2), kept: loading a million leads takes minutes.
		db, err := sqlx.Open("postgres", url)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Get(&leads, "SELECT count(*) FROM leads"); err != nil {
			b.Fatal(err)
		}
		b.Logf("using the %d leads of TANDEM_BENCH_DSN", leads)
		shared = &setup{db: db, drop: func() {}, url: url, leads: leads}
		return shared
	}
	url, drop, err := testdb.Create()
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	// The volume: per 1M leads, 5M activities, 200k opportunities and 2M touchpoints
	// (the model yields about 2.6 touchpoints per lead on its own).
	st, err := demo.Load(context.Background(), db, db, demo.Options{Seed: 7, Leads: leads, Now: time.Now(), Dirty: true,
		ActivitiesPerLead: 5, OpportunitiesPerLead: 0.2}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d leads, %d activities, %d opportunities, %d touchpoints in %s",
		st.Leads, st.Activities, st.Opportunities, st.Touchpoints, time.Since(t0).Round(time.Second))
	if os.Getenv("TANDEM_BENCH_LAYOUT") == "time" {
		if err := timeLayout(db); err != nil {
			b.Fatal(err)
		}
		b.Log("activities, opportunities and touchpoints laid out in the order of their timestamps")
	}
	shared = &setup{db: db, drop: drop, url: url, leads: leads, loaded: time.Since(t0)}
	return shared
}

// timeLayout rewrites the activities, opportunities and touchpoints in the order of their
// timestamps, as a sync tool appends them, instead of the loader's order by lead: what a full
// recount's reads by lead range cost on a CRM as it is usually laid out (see poller.checkRange).
// A database loaded before is laid out the same way by these statements, run in psql.
func timeLayout(db *sqlx.DB) error {
	for _, t := range [][2]string{{"sales_activities", "occurred_at"}, {"opportunities", "created_at"}, {"marketing_touchpoints", "occurred_at"}} {
		tx, err := db.Beginx() // one connection: the temporary table is its own
		if err != nil {
			return err
		}
		for _, q := range []string{
			"CREATE TEMP TABLE relaid ON COMMIT DROP AS SELECT * FROM " + t[0] + " ORDER BY " + t[1] + ", id",
			"TRUNCATE " + t[0],
			"INSERT INTO " + t[0] + " SELECT * FROM relaid",
		} {
			if _, err := tx.Exec(q); err != nil {
				tx.Rollback() //nolint:errcheck
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if _, err := db.Exec("VACUUM ANALYZE " + t[0]); err != nil {
			return err
		}
	}
	return nil
}

func newExporter(b *testing.B, s *setup) *exporter.Exporter {
	return newExporterAt(b, s, time.Now)
}

// newExporterAt is newExporter with a clock (a reconciliation is due once it passes the
// reconcile_interval).
func newExporterAt(b *testing.B, s *setup, now func() time.Time) *exporter.Exporter {
	cfg, err := config.Parse([]byte(`databases:
  crm: {dsn_env: D, poll_interval: 10m, query_timeout: 10m}
  campaigns: {dsn_env: D, poll_interval: 10m, query_timeout: 10m}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`), "bench.yml", func(string) string { return s.url })
	if err != nil {
		b.Fatal(err)
	}
	e, err := exporter.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), now)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkPollVsGenericSQL: between polls 1,000 leads change (not timed); then Tandem's
// steady-state poll (incremental: only changed rows are read) and the generic aggregates run on
// the same data. Reported: per-poll database time (Tandem: its queries; generic: all of it) and
// wall time, their ratios (generic ÷ Tandem: above 1, Tandem is cheaper), and the cold start.
func BenchmarkPollVsGenericSQL(b *testing.B) {
	s := load(b)
	var skew atomic.Int64 // how far the exporter's clock runs ahead: a reconciliation is due past the hour
	e := newExporterAt(b, s, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	defer e.Close()
	ctx := context.Background()
	changed := &leadChanges{db: s.db, before: map[int64][2]sql.NullString{}}
	defer func() {
		if err := changed.restore(context.Background()); err != nil {
			b.Error(err)
		}
	}()
	resetPeakRSS()
	stopLive := peakLiveHeap()
	coldStart := time.Now()
	cpu0, machine0 := cpuSeconds(b)
	peakPath := os.Getenv("TANDEM_BENCH_PEAK_PROFILE")
	stopPeak := peakProfiler(peakPath)
	stopCold := cpuProfiler(b, os.Getenv("TANDEM_BENCH_COLD_PROFILE"))
	if err := e.PollOnce(ctx); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(coldStart)
	cpu1, machine1 := cpuSeconds(b)
	stopCold()
	stopPeak()
	heap, mapped := retainedMiB()
	writeHeapProfile(b)
	// Where the cold start's time went.
	for _, db := range []string{"crm", "campaigns"} {
		_, h := e.Poller(source.Database(db)).Snapshot()
		b.Logf("cold start, %s: poll %s, queries %v", db, h.LastDuration.Round(time.Millisecond), h.QueryDuration)
	}
	var tandemWall, tandemDB, generic time.Duration
	var tandemCPU float64 // the exporter's CPU seconds in its steady polls
	stopSteady := cpuProfiler(b, os.Getenv("TANDEM_BENCH_STEADY_PROFILE"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := changed.change(ctx, true); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		c0, _ := cpuSeconds(b)
		if err := e.PollOnce(ctx); err != nil {
			b.Fatal(err)
		}
		tandemWall += time.Since(t0)
		c1, _ := cpuSeconds(b)
		tandemCPU += c1 - c0
		for _, db := range []string{"crm", "campaigns"} {
			_, h := e.Poller(source.Database(db)).Snapshot()
			for _, d := range h.QueryDuration {
				tandemDB += d
			}
		}
		t0 = time.Now()
		for _, q := range genericQueries {
			rows, err := s.db.QueryContext(ctx, q)
			if err != nil {
				b.Fatalf("%v\n%s", err, q)
			}
			for rows.Next() {
			}
			rows.Close()
		}
		generic += time.Since(t0)
	}
	b.StopTimer()
	stopSteady()
	writeProfile(b, os.Getenv("TANDEM_BENCH_STEADY_HEAP_PROFILE")) // with -base the cold start's: what the steady polls allocated
	for _, db := range []string{"crm", "campaigns"} {
		_, h := e.Poller(source.Database(db)).Snapshot()
		b.Logf("steady state, %s: poll %s, queries %v", db, h.LastDuration.Round(time.Millisecond), h.QueryDuration)
	}
	// The hourly reconciliation: the clock past reconcile_interval, one poll of both databases
	// that compares the digests of every row with the database's (after the same changes).
	if err := changed.change(ctx, false); err != nil {
		b.Fatal(err)
	}
	skew.Add(int64(61 * time.Minute))
	stopPeak = func() {}
	if peakPath != "" {
		stopPeak = peakProfiler(peakPath + ".reconcile") // the reconciliation's own peak, beside the cold start's
	}
	if err := e.PollOnce(ctx); err != nil {
		b.Fatal(err)
	}
	stopPeak()
	var reconcile time.Duration
	for _, db := range []string{"crm", "campaigns"} {
		_, h := e.Poller(source.Database(db)).Snapshot()
		b.Logf("reconciliation, %s: poll %s, queries %v", db, h.LastDuration.Round(time.Millisecond), h.QueryDuration)
		for _, d := range h.QueryDuration {
			reconcile += d
		}
	}
	n := float64(b.N)
	b.ReportMetric(reconcile.Seconds(), "reconcile-db-s")
	b.ReportMetric(tandemWall.Seconds()/n, "tandem-wall-s/poll")
	b.ReportMetric(tandemCPU/n, "tandem-cpu-s/poll") // the exporter's: read, tally, encode
	b.ReportMetric(tandemDB.Seconds()/n, "tandem-db-s/poll")
	b.ReportMetric(generic.Seconds()/n, "generic-s/poll")
	b.ReportMetric(generic.Seconds()/tandemDB.Seconds(), "db-ratio")
	// With the hourly reconciliation spread over the polls of its interval, at the default
	// intervals (its poll replaces one steady-state poll); the campaign database is counted at
	// every CRM poll (it polls less often).
	polls := defaultPollsPerReconcile(b)
	amortised := (tandemDB.Seconds()/n*(polls-1) + reconcile.Seconds()) / polls
	b.ReportMetric(amortised, "tandem-db-amortised-s/poll")
	b.ReportMetric(generic.Seconds()/n/amortised, "db-ratio-amortised")
	b.ReportMetric(generic.Seconds()/tandemWall.Seconds(), "wall-ratio")
	b.ReportMetric(cold.Seconds(), "cold-start-s")
	b.ReportMetric(cpu1-cpu0, "cold-start-cpu-s") // the exporter's
	if machine1 > 0 {
		b.ReportMetric(machine1-machine0, "cold-start-machine-cpu-s") // the exporter's and PostgreSQL's
	}
	b.ReportMetric(peakRSSMiB(b), "peak-rss-MiB")
	peakHeap, peakMapped := stopLive()
	b.ReportMetric(peakHeap, "peak-live-heap-MiB")
	b.ReportMetric(peakMapped, "peak-mapped-MiB")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(mapped, "mapped-MiB")
	b.ReportMetric((heap+mapped)*(1<<20)/float64(s.leads), "kept-B/lead") // the heap's and the stores' outside it
	b.ReportMetric(float64(s.leads), "leads")
}

// defaultPollsPerReconcile is how many CRM polls one reconciliation is spread over by default
// (reconcile_interval / poll_interval).
func defaultPollsPerReconcile(b *testing.B) float64 {
	cfg, err := config.Parse([]byte("databases:\n  crm: {dsn_env: D}\n"), "defaults.yml", func(string) string { return "postgres://x@localhost/x" })
	if err != nil {
		b.Fatal(err)
	}
	d := cfg.DB(source.CRM)
	return float64(d.ReconcileInterval) / float64(d.PollInterval)
}

// retainedMiB is what the exporter keeps between polls: the live heap after a collection, and
// the stores' memory outside the heap (tally.MappedBytes) once the blocks that collection found
// dropped are unmapped (their cleanups run after it, on their own goroutine).
func retainedMiB() (heap, mapped float64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	for i := 0; i < 100; i++ { // the cleanups of the blocks dropped: up to a second
		before := tally.MappedBytes()
		time.Sleep(10 * time.Millisecond)
		if tally.MappedBytes() == before {
			break
		}
	}
	return float64(m.HeapAlloc) / (1 << 20), float64(tally.MappedBytes()) / (1 << 20)
}

// writeHeapProfile writes what the exporter holds after its cold start to the file
// TANDEM_BENCH_HEAP_PROFILE names (go tool pprof -sample_index=inuse_space), if set;
// TANDEM_BENCH_PEAK_PROFILE names one for the highest heap during the cold start (peakProfiler),
// TANDEM_BENCH_STEADY_HEAP_PROFILE one after the steady-state polls (with -base the first, and
// -sample_index=alloc_space: what they allocated).
func writeHeapProfile(b *testing.B) { writeProfile(b, os.Getenv("TANDEM_BENCH_HEAP_PROFILE")) }

// writeProfile writes a heap profile to path, if set.
func writeProfile(b *testing.B, path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkScrape(b *testing.B) {
	s := load(b)
	e := newExporter(b, s)
	defer e.Close()
	if err := e.PollOnce(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler(10))
	defer srv.Close()
	var lat []time.Duration
	b.ResetTimer()
	// At least 200 scrapes whatever -benchtime says, so the p99 is one (make bench runs 5x).
	for i := 0; i < max(b.N, 200); i++ {
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Accept-Encoding", "gzip") // as Prometheus scrapes; the body stays compressed
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != "gzip" {
			b.Fatalf("scrape not gzip-encoded: %q", resp.Header.Get("Content-Encoding"))
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat)), "scrapes")
}

// resetPeakRSS starts the process's peak RSS (VmHWM) afresh, so the figure is the exporter's,
// not the data load's (Linux: writing 5 to clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) } //nolint:errcheck // best effort

// peakRSSMiB reads the process's peak resident set since resetPeakRSS.
func peakRSSMiB(b *testing.B) float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(n) / 1024
		}
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// BenchmarkBackfill: the history of the default plan (400 days: daily, hourly over the last 35)
// written to a file, against its baseline in the same run: one cold start of the live exporter
// (the poll that reads every row and tallies once). Reported: the backfill's wall time, per
// instant, and as a multiple of the cold start; its peak RSS next to the live exporter's. One
// backfill per run, whatever -benchtime says (at 1M leads one takes minutes).
func BenchmarkBackfill(b *testing.B) {
	s := load(b)
	ctx := context.Background()
	cfg := benchConfig(b, s)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now()

	runtime.GC()
	resetPeakRSS()
	e, err := exporter.New(cfg, logger, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := e.PollOnce(ctx); err != nil {
		b.Fatal(err)
	}
	cold := time.Since(t0)
	livePeak := peakRSSMiB(b)
	e.Close()
	e = nil
	runtime.GC()
	debug.FreeOSMemory()

	resetPeakRSS()
	out, err := os.CreateTemp(b.TempDir(), "history-*.om")
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	b.ResetTimer()
	stopPeak := func() {}
	if path := os.Getenv("TANDEM_BENCH_PEAK_PROFILE"); path != "" {
		stopPeak = peakProfiler(path + ".backfill") // the backfill's own peak, beside the cold start's
	}
	t0 = time.Now()
	rows, closeRows, err := backfill.Load(ctx, cfg, logger, now)
	if err != nil {
		b.Fatal(err)
	}
	res, err := backfill.Write(cfg, rows, now, backfill.Options{Plan: backfill.DefaultPlan, Target: map[string]string{"job": "tandem", "instance": "bench:9866"}, TempDir: b.TempDir()}, out)
	if err != nil {
		b.Fatal(err)
	}
	wall := time.Since(t0)
	stopPeak()
	closeRows()
	b.StopTimer()
	size, _ := out.Seek(0, io.SeekCurrent)
	b.ReportMetric(wall.Seconds(), "backfill-s")
	b.ReportMetric(wall.Seconds()/float64(res.Instants), "s/instant")
	b.ReportMetric(wall.Seconds()/cold.Seconds(), "x-cold-start")
	b.ReportMetric(float64(res.Instants), "instants")
	b.ReportMetric(float64(res.Samples), "samples")
	b.ReportMetric(float64(res.Recounts), "full-recounts")
	b.ReportMetric(float64(size)/(1<<20), "output-MiB")
	b.ReportMetric(peakRSSMiB(b), "peak-rss-MiB")
	b.ReportMetric(livePeak, "live-peak-rss-MiB")
	b.ReportMetric(float64(s.leads), "leads")
}

// leadChanges are the changes the benchmark makes between polls: 1,000 random leads at a time
// get updated_at = now() (and a status moved on), as an application writing to the CRM does.
// What they held before is put back at the end (restore), so that a database loaded once and
// benchmarked again (TANDEM_BENCH_DSN) is the same for every run: left as they were, the last
// run's changes stayed inside the next run's watermark_overlap for five minutes, and each of
// its polls read them again, slowing the steady state by a third.
type leadChanges struct {
	db     *sqlx.DB
	before map[int64][2]sql.NullString // updated_at (as text) and status before the first change
}

func (c *leadChanges) change(ctx context.Context, status bool) error {
	var picked []struct {
		ID        int64          `db:"id"`
		UpdatedAt sql.NullString `db:"updated_at"`
		Status    sql.NullString `db:"status"`
	}
	if err := c.db.SelectContext(ctx, &picked, `SELECT id, updated_at::text AS updated_at, status FROM leads ORDER BY random() LIMIT 1000`); err != nil {
		return err
	}
	ids := make([]int64, len(picked))
	for i, p := range picked {
		ids[i] = p.ID
		if _, ok := c.before[p.ID]; !ok {
			c.before[p.ID] = [2]sql.NullString{p.UpdatedAt, p.Status}
		}
	}
	q := `UPDATE leads SET updated_at = now() WHERE id = ANY($1)`
	if status {
		q = `UPDATE leads SET updated_at = now(), status = CASE WHEN status = 'New' THEN 'MQL' ELSE status END WHERE id = ANY($1)`
	}
	_, err := c.db.ExecContext(ctx, q, pq.Array(ids))
	return err
}

// restore puts back what the changed leads held before the benchmark changed them.
func (c *leadChanges) restore(ctx context.Context) error {
	var ids []int64
	var updated, status []sql.NullString
	for id, v := range c.before {
		ids, updated, status = append(ids, id), append(updated, v[0]), append(status, v[1])
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := c.db.ExecContext(ctx, `UPDATE leads l SET updated_at = r.u::timestamptz, status = r.s
		FROM unnest($1::bigint[], $2::text[], $3::text[]) AS r(id, u, s) WHERE l.id = r.id`,
		pq.Array(ids), pq.Array(updated), pq.Array(status))
	if err != nil {
		return err
	}
	// And the versions the changes left behind go: their entries in the updated_at index lie in
	// the next run's overlap, and its delta read visited each (thousands, runs a minute apart:
	// 0.040-0.057 s of database time a poll in 1-poll runs instead of 0.02-0.03 s).
	_, err = c.db.ExecContext(ctx, `VACUUM leads`)
	return err
}

func benchConfig(b *testing.B, s *setup) *config.Config {
	cfg, err := config.Parse([]byte(`databases:
  crm: {dsn_env: D, poll_interval: 10m, query_timeout: 10m}
  campaigns: {dsn_env: D, poll_interval: 10m, query_timeout: 10m}
targets: {currency_rates: {EUR: "1.08", GBP: "1.27"}}
`), "bench.yml", func(string) string { return s.url })
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}
