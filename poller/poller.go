// Package poller polls one database on a schedule and keeps the last completed poll's snapshot,
// so /metrics is served from memory and never waits on a database.
package poller

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver
	_ "modernc.org/sqlite" // pure-Go SQLite driver, for the embedded demo

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// Open connects to a configured database with a bounded pool.
func Open(d *config.DB) (*sqlx.DB, error) {
	db, err := sqlx.Open(d.Driver, d.DSN.Reveal())
	if err != nil {
		// The driver's error may quote the DSN; never pass it on.
		return nil, fmt.Errorf("opening %s database: invalid DSN", d.Driver)
	}
	db.SetMaxOpenConns(d.MaxOpenConns)
	db.SetMaxIdleConns(d.MaxOpenConns)
	db.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
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
	Regressions   map[string]uint64
}

func (h Health) clone() Health {
	c := h
	c.QueryErrors = cloneMap(h.QueryErrors)
	c.QueryRows = cloneMap(h.QueryRows)
	c.QueryDuration = cloneMap(h.QueryDuration)
	c.Regressions = cloneMap(h.Regressions)
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
	guard  *tally.Guard

	mu     sync.RWMutex
	snap   *tally.Snapshot
	health Health
	// touches gives the CRM tally the campaign database's latest touch index.
	touches func() *tally.TouchIndex
}

// UseTouches makes this (CRM) poller join the touch index that fn returns into each poll.
func (p *Poller) UseTouches(fn func() *tally.TouchIndex) { p.touches = fn }

// New creates a poller; now is the clock (time.Now outside tests).
func New(cfg *config.Config, db source.Database, conn *sqlx.DB, logger *slog.Logger, now func() time.Time) *Poller {
	return &Poller{
		db: db, cfg: cfg, conn: conn, logger: logger.With("database", string(db)), now: now,
		folder: tally.NewFolder(cfg.Caps), guard: tally.NewGuard(),
		health: Health{QueryErrors: map[string]uint64{}, QueryRows: map[string]uint64{}, QueryDuration: map[string]time.Duration{}, Regressions: map[string]uint64{}},
	}
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
func (p *Poller) Poll(ctx context.Context) error {
	start := time.Now()
	p.mu.Lock()
	p.health.Polls++
	p.mu.Unlock()

	snap, stats, err := p.read(ctx)

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
	for metric, n := range p.guard.Apply(snap) {
		p.health.Regressions[metric] += uint64(n)
	}
	p.snap = snap
	p.health.Up = true
	p.health.LastSuccess = p.now()
	p.logger.Debug("poll done", "duration", p.health.LastDuration)
	return nil
}

type queryStats struct {
	rows     int
	duration time.Duration
	err      bool
}

// read runs the database's queries in one read-only transaction, so every query sees the same
// snapshot of the data (REPEATABLE READ on PostgreSQL).
func (p *Poller) read(ctx context.Context) (*tally.Snapshot, map[string]queryStats, error) {
	d := p.cfg.DB(p.db)
	stats := map[string]queryStats{}
	opts := &sql.TxOptions{}
	if d.Driver == "postgres" {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := p.conn.BeginTxx(ctx, opts)
	if err != nil {
		return nil, stats, fmt.Errorf("beginning read transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	if d.Driver == "postgres" {
		// The server cancels a query that outlives query_timeout even if this process cannot
		// (network partition); the context cancels it from this side too.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", d.QueryTimeout.Milliseconds())); err != nil {
			return nil, stats, fmt.Errorf("setting statement_timeout: %w", err)
		}
	}

	type step struct {
		name string
		read func(ctx context.Context, text string) (source.Result, error)
	}
	var (
		steps   []step
		skipped func(string, source.Result)
		finish  func() *tally.Snapshot
	)
	switch p.db {
	case source.CRM:
		t := tally.NewCRM(p.cfg, p.folder, p.now())
		if p.touches != nil {
			t.UseTouches(p.touches())
		}
		skipped, finish = t.Skipped, t.Finish
		steps = []step{
			{source.QueryOwners, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadOwners(ctx, tx, s, t.Owner)
			}},
			{source.QueryLeads, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadLeads(ctx, tx, s, t.Lead)
			}},
			{source.QueryActivities, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadActivities(ctx, tx, s, t.Activity)
			}},
			{source.QueryOpportunities, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadOpportunities(ctx, tx, s, t.Opportunity)
			}},
		}
	case source.Campaigns:
		t := tally.NewCampaigns(p.cfg, p.folder)
		skipped, finish = t.Skipped, t.Finish
		steps = []step{
			{source.QueryCampaigns, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadCampaigns(ctx, tx, s, t.Campaign)
			}},
			{source.QueryCampaignStats, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadCampaignStats(ctx, tx, s, t.Stat)
			}},
			{source.QueryTouchpoints, func(ctx context.Context, s string) (source.Result, error) {
				return source.ReadTouchpoints(ctx, tx, s, t.Touchpoint)
			}},
		}
	default:
		return nil, stats, fmt.Errorf("unknown database %q", p.db)
	}

	for _, st := range steps {
		q, _ := source.LookupQuery(p.db, st.name)
		qctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
		began := time.Now()
		res, err := st.read(qctx, d.Query(q))
		cancel()
		stats[st.name] = queryStats{rows: res.Rows, duration: time.Since(began), err: err != nil}
		if err != nil {
			return nil, stats, err
		}
		if res.FirstSkip != nil {
			p.logger.Warn("rows skipped", "query", st.name, "skipped", res.Skipped, "first_check", res.FirstSkip.Check, "first_column", res.FirstSkip.Column)
		}
		skipped(st.name, res)
	}
	return finish(), stats, nil
}
