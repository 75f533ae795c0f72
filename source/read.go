package source

import (
	"context"
	"database/sql"
	"fmt"
)

// Querier is what a read needs: a *sql.DB, *sql.Tx or their sqlx wrappers.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Result says what one query read.
type Result struct {
	Rows    int            // rows returned, skipped ones included
	Skipped map[string]int // rows skipped, by data-quality check
	// FirstSkip describes one skipped row (check and column only: values may be personal data).
	FirstSkip *RowError
}

func read[T any](ctx context.Context, db Querier, q Query, text string, decode func(*record) T, fn func(T)) (Result, error) {
	res := Result{Skipped: map[string]int{}}
	rows, err := db.QueryContext(ctx, text)
	if err != nil {
		return res, fmt.Errorf("query %s: %w", q.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return res, fmt.Errorf("query %s: %w", q.Name, err)
	}
	idx, err := CheckColumns(q, cols)
	if err != nil {
		return res, err
	}
	rec := &record{q: &q, cells: make([]cell, len(cols)), idx: idx}
	dest := make([]any, len(cols))
	for i := range rec.cells {
		dest[i] = &rec.cells[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return res, fmt.Errorf("query %s: %w", q.Name, err)
		}
		res.Rows++
		rec.err = nil
		v := decode(rec)
		if rec.err != nil {
			res.Skipped[rec.err.Check]++
			if res.FirstSkip == nil {
				e := *rec.err
				res.FirstSkip = &e
			}
			continue
		}
		fn(v)
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("query %s: %w", q.Name, err)
	}
	return res, nil
}

func mustQuery(db Database, name string) Query {
	q, ok := LookupQuery(db, name)
	if !ok {
		panic("unknown query " + name)
	}
	return q
}

// ReadOwners streams the owners query's rows to fn.
func ReadOwners(ctx context.Context, db Querier, text string, fn func(Owner)) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryOwners), text, decodeOwner, fn)
}

// ReadLeads streams the leads query's rows to fn.
func ReadLeads(ctx context.Context, db Querier, text string, fn func(Lead)) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryLeads), text, decodeLead, fn)
}

// ReadActivities streams the activities query's rows to fn.
func ReadActivities(ctx context.Context, db Querier, text string, fn func(Activity)) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryActivities), text, decodeActivity, fn)
}

// ReadOpportunities streams the opportunities query's rows to fn.
func ReadOpportunities(ctx context.Context, db Querier, text string, fn func(Opportunity)) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryOpportunities), text, decodeOpportunity, fn)
}

// ReadCampaigns streams the campaigns query's rows to fn.
func ReadCampaigns(ctx context.Context, db Querier, text string, fn func(Campaign)) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryCampaigns), text, decodeCampaign, fn)
}

// ReadCampaignStats streams the campaign_stats query's rows to fn.
func ReadCampaignStats(ctx context.Context, db Querier, text string, fn func(CampaignStat)) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryCampaignStats), text, decodeCampaignStat, fn)
}

// ReadTouchpoints streams the touchpoints query's rows to fn.
func ReadTouchpoints(ctx context.Context, db Querier, text string, fn func(Touchpoint)) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryTouchpoints), text, decodeTouchpoint, fn)
}

// Check runs a query without reading its rows and verifies its columns: what --config.check does
// for every configured query.
func Check(ctx context.Context, db Querier, q Query, text string) error {
	rows, err := db.QueryContext(ctx, "SELECT * FROM ("+text+") AS tandem_check LIMIT 0")
	if err != nil {
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	_, err = CheckColumns(q, cols)
	return err
}
