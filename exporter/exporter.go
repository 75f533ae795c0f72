// Package exporter wires configuration, pollers and collectors into the HTTP handler that
// cmd/tandem-exporter serves. It holds no logic of its own beyond the wiring, so the same
// assembly runs in main, in the embedded demo and in end-to-end tests.
package exporter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	tcollectors "github.com/tandem-oss/tandem/collectors"
	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/poller"
	"github.com/tandem-oss/tandem/source"
	"github.com/tandem-oss/tandem/tally"
)

// Exporter is a running set of pollers and the registry that publishes them.
type Exporter struct {
	cfg      *config.Config
	logger   *slog.Logger
	conns    map[source.Database]*poller.Conn
	pollers  map[source.Database]*poller.Poller
	Registry *prometheus.Registry
	wg       sync.WaitGroup

	// snapshots write what changes once per poll, liveReg gathers what changes all the time;
	// the scrape handler serves the first pre-encoded (see scrape.go).
	snapshots []tcollectors.TextWriter
	liveReg   *prometheus.Registry
	feed      *tally.TouchFeed // campaign touches for the CRM tally; nil unless both are polled
	cache     scrapeCache
}

// New opens the configured databases (lazily: an unreachable database does not stop start-up)
// and registers the collectors. now is the clock (time.Now outside tests).
func New(cfg *config.Config, logger *slog.Logger, now func() time.Time) (*Exporter, error) {
	e := &Exporter{cfg: cfg, logger: logger, conns: map[source.Database]*poller.Conn{}, pollers: map[source.Database]*poller.Poller{},
		Registry: prometheus.NewRegistry(), liveReg: prometheus.NewRegistry()}
	for _, db := range cfg.Sources() {
		conn, err := poller.Open(cfg.DB(db))
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("database %s: %w", db, err)
		}
		e.conns[db] = conn
		e.pollers[db] = poller.New(cfg, db, conn.DB, logger, now)
	}
	if crm, camp := e.pollers[source.CRM], e.pollers[source.Campaigns]; crm != nil && camp != nil {
		e.feed = tally.NewTouchFeed()
		crm.ShareTouches(e.feed)
		camp.ShareTouches(e.feed)
	}
	cs, err := tcollectors.Register(e.Registry, cfg, e)
	if err != nil {
		e.Close()
		return nil, err
	}
	for _, name := range tcollectors.Names() {
		c := cs[name]
		if tw, ok := c.(tcollectors.TextWriter); ok && tcollectors.Snapshot(name) {
			e.snapshots = append(e.snapshots, tw)
		} else {
			e.liveReg.MustRegister(c)
		}
	}
	for _, p := range e.pollers {
		p.AfterPoll(e.warm)
	}
	for _, c := range []prometheus.Collector{
		versioncollector.NewCollector("tandem_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		e.Registry.MustRegister(c)
		e.liveReg.MustRegister(c)
	}
	return e, nil
}

// Poller returns a database's poller (collectors.Sources).
func (e *Exporter) Poller(db source.Database) *poller.Poller { return e.pollers[db] }

// Start runs every poller in the background until ctx ends. When ctx ends, every database
// connection is aborted, so stopping never waits on a database that does not answer.
func (e *Exporter) Start(ctx context.Context) {
	e.start(ctx, false)
}

// Run is Start with the start-up check first, each database on its own: a database that answers
// has every query checked (LIMIT 0) before its poller starts, and a query it refuses, or whose
// columns are wrong, is a configuration error sent on the returned channel (the exporter should
// stop). A database that does not answer is logged and polled anyway, with retries. No database
// waits for another, and the caller serves HTTP meanwhile.
func (e *Exporter) Run(ctx context.Context) <-chan error {
	return e.start(ctx, true)
}

func (e *Exporter) start(ctx context.Context, check bool) <-chan error {
	errc := make(chan error, len(e.pollers))
	for db, p := range e.pollers {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			if check {
				reachable, err := e.checkStartup(ctx, db)
				if err != nil {
					errc <- err
					return
				}
				if !reachable && db == source.Campaigns && e.feed != nil {
					// The CRM's first tally need not wait for touches that cannot come yet; they
					// join it when the campaign database answers.
					e.feed.Settle()
				}
			}
			p.Run(ctx)
		}()
	}
	go func() {
		<-ctx.Done()
		for _, c := range e.conns {
			c.Abort()
		}
	}()
	return errc
}

// PollOnce polls every database once; for tests and benchmarks. The first time it reads both
// databases at once, as Start does (the CRM tallies once the campaign database's first touches
// are in); later it polls the campaign database first, so the CRM joins this round's touches.
func (e *Exporter) PollOnce(ctx context.Context) error {
	dbs := []source.Database{source.Campaigns, source.CRM}
	if e.feed != nil {
		select {
		case <-e.feed.Settled():
			for _, db := range dbs {
				if err := e.pollers[db].Poll(ctx); err != nil {
					return fmt.Errorf("database %s: %w", db, err)
				}
			}
			return nil
		default:
		}
	}
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		if p := e.pollers[db]; p != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Poll(ctx); err != nil {
					errs[i] = fmt.Errorf("database %s: %w", db, err)
				}
			}()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Check validates every configured query against its database without reading rows.
// Each database is checked, and reported, on its own: one that does not answer is named as such,
// not as its first query failing.
func (e *Exporter) Check(ctx context.Context) error {
	var errs []error
	for _, db := range e.cfg.Sources() {
		pctx, cancel := context.WithTimeout(ctx, e.cfg.DB(db).QueryTimeout)
		err := e.conns[db].PingContext(pctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("databases.%s: the database does not answer: %w", db, err))
			continue
		}
		if err := e.checkQueries(ctx, db, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkQueries runs every query of a database with LIMIT 0 and checks its columns; with
// tolerateTimeout a query that times out is not reported (a slow database is not a wrong query).
func (e *Exporter) checkQueries(ctx context.Context, db source.Database, tolerateTimeout bool) error {
	d := e.cfg.DB(db)
	for _, q := range source.QueriesFor(db) {
		if !d.Enabled(q.Name) {
			continue
		}
		qctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
		err := e.checkQuery(qctx, db, q, !tolerateTimeout)
		cancel()
		if err != nil && !(tolerateTimeout && errors.Is(err, context.DeadlineExceeded)) {
			if at := d.QueryAt[q.Name]; at != "" {
				return fmt.Errorf("%s: databases.%s.queries.%s: %w", at, db, q.Name, err)
			}
			return fmt.Errorf("databases.%s.queries.%s: %w", db, q.Name, err)
		}
	}
	return nil
}

// checkQuery probes one query inside a read-only transaction, as the polls run it.
// With sample (--config.check), it also decodes the query's first rows: a mapping whose values
// cannot be decoded is refused there, while at start-up bad rows are only counted and skipped.
func (e *Exporter) checkQuery(ctx context.Context, db source.Database, q source.Query, sample bool) error {
	d := e.cfg.DB(db)
	opts := &sql.TxOptions{}
	if d.Driver == "postgres" {
		opts.ReadOnly = true
	}
	tx, err := e.conns[db].BeginTxx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	if err := source.Check(ctx, tx, q, d.Query(q)); err != nil {
		return err
	}
	if !sample {
		return nil
	}
	return source.Sample(ctx, tx, q, d.Query(q))
}

// CheckStartup validates every query against each database that answers, so a wrong query stops
// the exporter at start-up; a database that does not answer is only logged: the exporter starts,
// serves its health metrics and keeps retrying.
func (e *Exporter) CheckStartup(ctx context.Context) error {
	for _, db := range e.cfg.Sources() {
		if _, err := e.checkStartup(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

// checkStartup checks one database's queries if it answers; reachable says whether it did.
func (e *Exporter) checkStartup(ctx context.Context, db source.Database) (reachable bool, err error) {
	d := e.cfg.DB(db)
	pctx, cancel := context.WithTimeout(ctx, d.QueryTimeout)
	err = e.conns[db].PingContext(pctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Warn("database not reachable at start-up; starting anyway and retrying", "database", string(db), "err", err)
		}
		return false, nil
	}
	return true, e.checkQueries(ctx, db, true)
}

// Wait blocks until the pollers have stopped.
func (e *Exporter) Wait() { e.wg.Wait() }

// Close closes the database connections, aborting any still in use.
func (e *Exporter) Close() {
	for _, c := range e.conns {
		c.Abort()
		c.Close()
	}
}

// StandardHandler serves the whole registry through client_golang's promhttp (every format,
// gzip). Handler is the fast path; this one is the reference it is tested against.
func (e *Exporter) StandardHandler(maxRequests int) http.Handler {
	return promhttp.HandlerFor(e.Registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(e.logger.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxRequests,
	})
}
