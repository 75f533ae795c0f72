// Package poller polls one database on a schedule and keeps the last completed poll's snapshot,
// so /metrics is served from memory and never waits on a database.
package poller

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver (database/sql adapter)
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, for the embedded demo

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// Conn is an open database: the pool, and for PostgreSQL the dialer that bounds its network
// operations.
type Conn struct {
	*sqlx.DB
	dialer *deadlineDialer // nil for SQLite
}

// Abort closes every network connection of the pool at once: queries in progress fail instead
// of waiting on a database that may never answer. For shutdown.
func (c *Conn) Abort() {
	if c.dialer != nil {
		c.dialer.Abort()
	}
}

// ioGrace is how much longer than query_timeout a read may wait on the network: the server's own
// statement_timeout, or the driver's cancel request, ends a slow query first when the server is
// alive; past that, it is not answering at all.
const ioGrace = 5 * time.Second

// Open connects to a configured database with a bounded pool. PostgreSQL connections get
// client-side deadlines on every network operation (see deadlineDialer): connect within
// min(query_timeout, 10s), and no read or write waits longer than query_timeout plus a grace.
func Open(d *config.DB) (*Conn, error) {
	var c Conn
	switch d.Driver {
	case "postgres":
		// Config validation checks the DSN as lib/pq reads it (and explains a bad one without
		// quoting it); rows are read through pgx, whose binary protocol hands timestamps and
		// numbers over without formatting and parsing them as text: a third less time to read a
		// million leads' five million activities than lib/pq (3.5 s -> 2.35 s on one connection).
		if _, err := pq.NewConfig(d.DSN.Reveal()); err != nil {
			return nil, fmt.Errorf("opening %s database: invalid DSN", d.Driver)
		}
		pc, err := pgx.ParseConfig(d.DSN.Reveal())
		if err != nil {
			// The driver's error quotes the DSN; config validation explains it without doing so.
			return nil, fmt.Errorf("opening %s database: invalid DSN", d.Driver)
		}
		connect := min(d.QueryTimeout, 10*time.Second)
		if pc.ConnectTimeout == 0 {
			// connect_timeout bounds the whole handshake (TLS, authentication), which a server
			// that accepts and never answers would otherwise hold forever.
			pc.ConnectTimeout = connect
		}
		c.dialer = newDeadlineDialer(connect, d.QueryTimeout+ioGrace)
		pc.DialFunc = c.dialer.DialContext
		pc.BuildFrontend = bufferedFrontend
		c.DB = sqlx.NewDb(stdlib.OpenDB(*pc), "postgres") // "postgres": sqlx binds $1, $2...
	default:
		db, err := sqlx.Open(d.Driver, d.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("opening %s database: invalid DSN", d.Driver)
		}
		c.DB = db
	}
	c.SetMaxOpenConns(d.MaxOpenConns)
	c.SetMaxIdleConns(d.MaxOpenConns)
	c.SetConnMaxLifetime(30 * time.Minute)
	return &c, nil
}

// Health is how the poller itself is doing.
type Health struct {
	Up            bool
	LastSuccess   time.Time
	LastDuration  time.Duration
	Polls         uint64
	Failures      uint64
	QueryErrors   map[string]uint64
	QueryRows     map[string]uint64
	QueryDuration map[string]time.Duration
	FullReads     uint64
	TallyRebuilds uint64
	Drift         map[[2]string]uint64 // query, deleted|changed
}

func (h Health) clone() Health {
	c := h
	c.QueryErrors = cloneMap(h.QueryErrors)
	c.QueryRows = cloneMap(h.QueryRows)
	c.QueryDuration = cloneMap(h.QueryDuration)
	c.Drift = cloneMap(h.Drift)
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Poller polls one database.
type Poller struct {
	db     source.Database
	cfg    *config.Config
	conn   *sqlx.DB
	logger *slog.Logger
	now    func() time.Time
	folder *tally.Folder

	mu        sync.RWMutex
	snap      *tally.Snapshot
	health    Health
	afterPoll func()
	rowsOnly  bool // see RowsOnly
	// feed tells the CRM poller what the campaign poller's touches changed.
	feed *tally.TouchFeed
	// rangeChecked holds the queries whose range reads checkRange has measured.
	rangeChecked sync.Map

	// The mirror of the database's rows, read incrementally between full reads.
	lastFull  time.Time
	fullReads uint64
	drift     map[string]uint64 // query + "\xff" + deleted|changed
	crm       *crmMirror        // the backfill's (RowsOnly): the live CRM poll keeps no rows (crmState)
	crmState  *crmState
	camp      *campaignMirror // campaigns and stats; every touchpoint only for the backfill (RowsOnly)
	// touchTable is what the live poll keeps of the touchpoints: no rows (readTouches).
	touchTable *crmTable
	touchText  bool // a lead id of a touchpoint was text: every poll reads every touchpoint
	liveCRM    *tally.LiveCRM
	liveCamp   *tally.LiveCampaigns
	// digests is how each lead-keyed query's rows are digested (chooseDigests).
	digestMu sync.Mutex
	digests  map[string]digestChoice
}

// AfterPoll registers a function to run after every successful poll (the exporter pre-encodes
// the new snapshot for scrapes there, so no scrape pays for it).
func (p *Poller) AfterPoll(fn func()) { p.afterPoll = fn }

// RowsOnly makes the polls read the rows into the mirror and tally nothing: for the backfill,
// which tallies the rows itself at every past instant and needs from the poller only what it
// read (Detach). The cold start's tally, and the touches handed to the CRM side, would be work
// and memory thrown away (at a million leads, a third of the live exporter's peak).
func (p *Poller) RowsOnly() { p.rowsOnly = true }

// ShareTouches connects a campaign poller to a CRM poller: the campaign poller pushes its
// touchpoint changes into feed and the CRM poller joins them into its tally (campaign results,
// attribution, marketing-influenced revenue). Call on both before the first poll.
func (p *Poller) ShareTouches(feed *tally.TouchFeed) {
	p.feed = feed
	if p.db == source.CRM {
		p.liveCRM = tally.NewLiveCRM(p.cfg, p.folder, feed)
		p.liveCRM.CheckIDs = true // rows as the database returns them
	} else {
		p.liveCamp.Share(feed)
	}
}

// New creates a poller; now is the clock (time.Now outside tests).
func New(cfg *config.Config, db source.Database, conn *sqlx.DB, logger *slog.Logger, now func() time.Time) *Poller {
	p := &Poller{
		db: db, cfg: cfg, conn: conn, logger: logger.With("database", string(db)), now: now,
		folder: tally.NewFolder(cfg.Caps), drift: map[string]uint64{}, digests: map[string]digestChoice{},
		health: Health{QueryErrors: map[string]uint64{}, QueryRows: map[string]uint64{}, QueryDuration: map[string]time.Duration{}},
	}
	// Each poller keeps only its own database's rows and tally.
	if db == source.CRM {
		p.crm, p.crmState, p.liveCRM = newCRMMirror(), newCRMState(), tally.NewLiveCRM(cfg, p.folder, nil)
		p.liveCRM.CheckIDs = true // rows as the database returns them
	} else {
		p.camp, p.touchTable, p.liveCamp = newCampaignMirror(), newCRMTable(source.QueryTouchpoints, "lead_id", false), tally.NewLiveCampaigns(cfg, p.folder)
	}
	return p
}

// built reports whether the first poll has been tallied (later polls collect what changed).
func (p *Poller) built() bool {
	if p.db == source.CRM {
		return p.liveCRM.Built()
	}
	return p.liveCamp.Built()
}

// Database names the database polled.
func (p *Poller) Database() source.Database { return p.db }

// Snapshot returns the last completed poll (nil before the first) and the poller's health.
func (p *Poller) Snapshot() (*tally.Snapshot, Health) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.snap, p.health.clone()
}

// Run polls at once, then every poll interval, until ctx ends. After a failure it retries
// sooner, backing off from one second up to the poll interval, so a database that comes back is
// read again quickly without being hammered while it is down.
func (p *Poller) Run(ctx context.Context) {
	interval := p.cfg.DB(p.db).PollInterval
	backoff := time.Second
	for {
		wait := interval
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			wait = min(backoff, interval)
			backoff *= 2
			p.logger.Error("poll failed; keeping the previous values", "err", err, "retry_in", wait)
		} else {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Poll reads the database once and publishes the result. On error the previous snapshot stays.
func (p *Poller) Poll(ctx context.Context) (err error) {
	start := time.Now()
	p.mu.Lock()
	p.health.Polls++
	p.mu.Unlock()

	snap, stats, err := p.read(ctx)
	if p.feed != nil && p.db == source.Campaigns {
		defer p.feed.Settle() // after the push (in read) and even when the poll failed
	}
	defer func() { // runs after the unlock below

		if err == nil && p.afterPoll != nil {
			p.afterPoll()
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range stats {
		p.health.QueryRows[q] += uint64(st.rows)
		p.health.QueryDuration[q] = st.duration
		if st.err {
			p.health.QueryErrors[q]++
		}
	}
	p.health.LastDuration = time.Since(start)
	if err != nil {
		p.health.Up = false
		p.health.Failures++
		return err
	}
	p.health.FullReads = p.fullReads
	if p.db == source.CRM {
		p.health.TallyRebuilds = p.liveCRM.Rebuilds
	} else {
		p.health.TallyRebuilds = p.liveCamp.Rebuilds
	}
	p.health.Drift = map[[2]string]uint64{}
	for k, n := range p.drift {
		q, kind, _ := strings.Cut(k, "\xff")
		p.health.Drift[[2]string{q, kind}] = n
	}
	p.snap = snap
	p.health.Up = true
	// The exporter's own events are dated on the host's clock, which Prometheus' time() is
	// compared with (data age, staleness alerts); the injected clock decides only what the rows
	// mean (periods, deadlines), and tests move it to simulated instants.
	p.health.LastSuccess = time.Now()
	attrs := []any{"duration", p.health.LastDuration, "full_recounts", p.health.TallyRebuilds}
	if p.db == source.CRM {
		attrs = append(attrs, "leads_recomputed", p.liveCRM.Recomputed)
	}
	p.logger.Debug("poll done", attrs...)
	return nil
}

type queryStats struct {
	rows     int
	duration time.Duration
	err      bool
}

// step is one query of a poll.
type step struct {
	name string
	// read runs the query into its table (text is the SQL to run) and returns the changes read,
	// not yet applied.
	read func(ctx context.Context, text string, full bool, since, now time.Time, progress func(int)) (source.Result, stepChanges, error)
	// incremental points at whether the query returns updated_at; nil for a query always read
	// in full (owners has no watermark).
	incremental func() *bool
	watermark   func() time.Time
}

// stepChanges is a step's read, not yet applied: changes reports each changed row to the step's
// change hook, apply applies them to the table.
type stepChanges struct {
	changes func()
	apply   func() drift
}

func bind[K comparable, V comparable](t *table[K, V], q source.Querier,
	fn func(ctxQ, source.Querier, string, func(V), ...any) (source.Result, error), onChange func(old, new *V)) func(context.Context, string, bool, time.Time, time.Time, func(int)) (source.Result, stepChanges, error) {
	return func(ctx context.Context, text string, full bool, since, now time.Time, progress func(int)) (source.Result, stepChanges, error) {
		res, pend, err := t.read(ctx, func(ctx context.Context, text string, f func(V), args ...any) (source.Result, error) {
			return fn(ctx, q, text, f, args...)
		}, text, full, since, now, progress)
		if err != nil {
			return res, stepChanges{}, err
		}
		return res, stepChanges{changes: func() { pend.changes(onChange) }, apply: pend.apply}, nil
	}
}

// runSteps runs the queries of the table steps (the owners', the campaign side's small tables,
// every table of a RowsOnly poll): every row on a full poll, else only the rows changed since
// the newest one seen for the queries that return updated_at. It returns each read, not yet
// applied.
func (p *Poller) runSteps(ctx context.Context, tx *readTx, steps []step, full bool, now time.Time, stats map[string]queryStats) ([]stepChanges, []func(), error) {
	d := p.cfg.DB(p.db)
	var reads []stepChanges
	var applies []func()
	for _, st := range steps {
		if !d.Enabled(st.name) {
			continue // disabled_queries: its table stays empty
		}
		q, _ := source.LookupQuery(p.db, st.name)
		// Every query, the owners' too, runs as a subquery: one SELECT inside this read-only
		// transaction, whatever its text (config refuses multi-statement text besides).
		text := source.Wrap(d.Query(q), "tandem_q")
		incr := st.incremental()
		if full && incr != nil {
			pctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
			var err error
			*incr, err = source.Returns(pctx, tx, text, source.Watermark)
			cancel()
			if err != nil {
				stats[st.name] = queryStats{err: true}
				return nil, nil, fmt.Errorf("query %s: %w", st.name, err)
			}
		}
		delta := !full && incr != nil && *incr
		since := time.Time{}
		if delta {
			since = st.watermark().Add(-d.WatermarkOverlap)
			text = tx.Rebind(source.Since(text))
		}
		qctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
		began := time.Now()
		var progress func(int)
		if !delta {
			name := st.name
			progress = func(rows int) {
				p.logger.Info("full read in progress", "query", name, "rows", rows, "elapsed", time.Since(began).Round(time.Millisecond))
			}
		}
		res, read, err := st.read(qctx, text, !delta, since, now, progress)
		cancel()
		stats[st.name] = queryStats{rows: res.Rows, duration: time.Since(began), err: err != nil}
		if err != nil {
			return nil, nil, err
		}
		if res.FirstSkip != nil {
			// The value's masked form, never the value: it may be personal data.
			p.logger.Warn("rows skipped", "query", st.name, "skipped", res.Skipped, "first_check", res.FirstSkip.Check,
				"first_column", res.FirstSkip.Column, "first_form", res.FirstSkip.Form, "why", res.FirstSkip.Err)
		}
		name := st.name
		reads = append(reads, read)
		applies = append(applies, func() {
			dr := read.apply()
			if !full {
				return
			}
			if dr.deleted > 0 || dr.changed > 0 {
				p.logger.Warn("reconciliation found rows the incremental reads missed", "query", name, "deleted", dr.deleted, "changed", dr.changed)
			}
			p.drift[name+"\xffdeleted"] += uint64(dr.deleted)
			p.drift[name+"\xffchanged"] += uint64(dr.changed)
		})
	}
	return reads, applies, nil
}

// readTables is a poll that reads tables of rows (runSteps): the campaign side's campaigns and
// stats, whose touchpoints readTouches reads, or every table of a RowsOnly poll.
func (p *Poller) readTables(ctx context.Context, tx *readTx, now time.Time, full bool, stats map[string]queryStats) (*tally.Snapshot, func(), error) {
	changes := newChangeSet()
	steps := p.steps(tx, changes)
	if p.db == source.Campaigns && !p.rowsOnly {
		steps = steps[:2] // campaigns and stats: the live poll keeps no touchpoint (readTouches)
	}
	reads, applies, err := p.runSteps(ctx, tx, steps, full, now, stats)
	if err != nil {
		return nil, nil, err
	}
	// A first poll tallies every row; later ones collect what changed.
	changes.keys = p.built()
	if !p.rowsOnly && changes.keys {
		for _, r := range reads {
			r.changes()
		}
	}
	apply := func() {
		for _, a := range applies {
			a()
		}
	}
	if p.rowsOnly {
		apply() // the backfill tallies the rows itself, at every past instant
		return tally.Empty(), func() {}, nil
	}
	return p.readTouches(ctx, tx, changes, apply, now, full, stats)
}

// read polls the database in one read-only transaction, so every query sees the same snapshot
// (REPEATABLE READ on PostgreSQL): the lead-keyed queries as readCRM and readTouches say, the
// small tables whole on a full poll (the first, and every reconcile_interval) and otherwise from
// their watermark. What a poll read is kept only once every query succeeded, and the live tallies
// update the numbers of the leads (or rows) it changes: the numbers are those of all the rows
// whichever way they were read.
func (p *Poller) read(ctx context.Context) (*tally.Snapshot, map[string]queryStats, error) {
	d := p.cfg.DB(p.db)
	stats := map[string]queryStats{}
	now := p.now()
	full := p.lastFull.IsZero() || d.ReconcileInterval == 0 || now.Sub(p.lastFull) >= d.ReconcileInterval
	opts := &sql.TxOptions{}
	if d.Driver == "postgres" {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := beginRead(ctx, p.conn, opts)
	if err != nil {
		return nil, stats, fmt.Errorf("beginning read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	if d.Driver == "postgres" {
		if _, err := tx.ExecContext(ctx, readSettings(d.QueryTimeout)); err != nil {
			return nil, stats, fmt.Errorf("setting statement_timeout and jit: %w", err)
		}
	}

	var snap *tally.Snapshot
	var commit func()
	if p.db == source.CRM && !p.rowsOnly {
		snap, commit, err = p.readCRM(ctx, tx, now, full, stats)
	} else {
		snap, commit, err = p.readTables(ctx, tx, now, full, stats)
	}
	if err != nil {
		return nil, stats, err
	}
	commit()
	if full {
		p.lastFull = now
		p.fullReads++
	}
	return snap, stats, nil
}
