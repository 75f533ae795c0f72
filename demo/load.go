package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tandem-oss/tandem/deploy/postgres"
)

// ApplySchema runs a schema file's statements (the files in deploy/postgres).
func ApplySchema(ctx context.Context, db *sqlx.DB, ddl string) error {
	for _, stmt := range splitStatements(ddl) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("applying schema: %w\n%s", err, stmt)
		}
	}
	return nil
}

func splitStatements(ddl string) []string {
	var out []string
	var b strings.Builder
	for _, line := range strings.Split(ddl, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteString("\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(b.String()); s != ";" {
				out = append(out, s)
			}
			b.Reset()
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Loader is a Sink that writes batches into one database inside one transaction: COPY on
// PostgreSQL, multi-row INSERTs elsewhere. Call Close to commit.
type Loader struct {
	ctx     context.Context
	tx      *sqlx.Tx
	copy    bool
	batch   int
	pending map[string]*pending
	order   []string
}

type pending struct {
	table Table
	rows  [][]any
}

// NewLoader starts a transaction on db.
func NewLoader(ctx context.Context, db *sqlx.DB) (*Loader, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	l := &Loader{ctx: ctx, tx: tx, copy: db.DriverName() == "postgres", batch: 2000, pending: map[string]*pending{}}
	if !l.copy {
		l.batch = 400 // SQLite limits bound variables per statement
	}
	return l, nil
}

// Add queues a row, flushing the table's batch when full.
func (l *Loader) Add(t Table, row ...any) error {
	p := l.pending[t.Name]
	if p == nil {
		p = &pending{table: t}
		l.pending[t.Name] = p
		l.order = append(l.order, t.Name)
	}
	p.rows = append(p.rows, row)
	if len(p.rows) >= l.batch {
		return l.flush(p)
	}
	return nil
}

func (l *Loader) flush(p *pending) error {
	if len(p.rows) == 0 {
		return nil
	}
	defer func() { p.rows = p.rows[:0] }()
	if l.copy {
		stmt, err := l.tx.PrepareContext(l.ctx, fmt.Sprintf("COPY %s (%s) FROM STDIN",
			pq.QuoteIdentifier(p.table.Name), quoteAll(p.table.Columns)))
		if err != nil {
			return fmt.Errorf("copy into %s: %w", p.table.Name, err)
		}
		for _, r := range p.rows {
			if _, err := stmt.ExecContext(l.ctx, r...); err != nil {
				stmt.Close()
				return fmt.Errorf("copy into %s: %w", p.table.Name, err)
			}
		}
		if _, err := stmt.ExecContext(l.ctx); err != nil {
			stmt.Close()
			return fmt.Errorf("copy into %s: %w", p.table.Name, err)
		}
		return stmt.Close()
	}
	var b strings.Builder
	args := make([]any, 0, len(p.rows)*len(p.table.Columns))
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", p.table.Name, strings.Join(p.table.Columns, ", "))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(p.table.Columns)), ", ") + ")"
	for i, r := range p.rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = append(args, r...)
	}
	_, err := l.tx.ExecContext(l.ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", p.table.Name, err)
	}
	return nil
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = pq.QuoteIdentifier(n)
	}
	return strings.Join(q, ", ")
}

// Close flushes every batch and commits.
func (l *Loader) Close() error {
	for _, name := range l.order {
		if err := l.flush(l.pending[name]); err != nil {
			l.tx.Rollback() //nolint:errcheck
			return err
		}
	}
	return l.tx.Commit()
}

// Abort rolls back.
func (l *Loader) Abort() { l.tx.Rollback() } //nolint:errcheck

// Load creates the reference schemas (deploy/postgres; if needed) and fills them. crm and
// campaigns may be the same database.
func Load(ctx context.Context, crm, campaigns *sqlx.DB, opt Options, progress func(done int)) (Stats, error) {
	if err := ApplySchema(ctx, crm, postgres.CRMSchema); err != nil {
		return Stats{}, err
	}
	if err := ApplySchema(ctx, campaigns, postgres.CampaignsSchema); err != nil {
		return Stats{}, err
	}
	cl, err := NewLoader(ctx, crm)
	if err != nil {
		return Stats{}, err
	}
	var ml *Loader
	if campaigns == crm {
		ml = cl
	} else if ml, err = NewLoader(ctx, campaigns); err != nil {
		cl.Abort()
		return Stats{}, err
	}
	st, err := Generate(opt, cl, ml, progress)
	if err != nil {
		cl.Abort()
		if ml != cl {
			ml.Abort()
		}
		return st, err
	}
	if err := cl.Close(); err != nil {
		return st, err
	}
	if ml != cl {
		if err := ml.Close(); err != nil {
			return st, err
		}
	}
	if crm.DriverName() == "postgres" {
		for _, db := range []*sqlx.DB{crm, campaigns} {
			if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}
