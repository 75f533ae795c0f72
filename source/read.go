package source

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// Querier is what a read needs: a *sql.DB, *sql.Tx or their sqlx wrappers.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Rows are the rows of one query as read iterates them: *sql.Rows, or a driver's own
// (NativeQuerier).
type Rows interface {
	Columns() ([]string, error)
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// NativeQuerier is a Querier that can also run a query on the driver's own interface, whose rows
// hand each value to the scanner as it decodes it: database/sql converts every value to a boxed
// driver.Value first, an allocation per value, which at a million leads was a third of a cold
// start's time. The rows are valid only during fn.
type NativeQuerier interface {
	Querier
	QueryNative(ctx context.Context, query string, args []any, fn func(Rows) error) error
}

// Result says what one query read.
type Result struct {
	Rows    int            // rows returned, skipped ones included
	Skipped map[string]int // rows skipped, by data-quality check
	// FirstSkip describes one skipped row (check and column only: values may be personal data).
	FirstSkip *RowError
	// Bad maps each skipped row's identity to its check (and each row kept with a value cut, to
	// CheckValueTooLong): its id (an int64, as a good row's id
	// decodes) when the id column is readable, else a hash of the whole row (a RowHash). An
	// incremental read that sees the same bad row again in its watermark overlap then replaces
	// it instead of counting it twice, and a bad row read again fixed drops out.
	Bad map[any]string
	// Rejected lists the skipped rows whose lead is known (the lead's id, or a row's lead_id),
	// with their digests: a digested read's sums per lead include them, as the database's do.
	Rejected []Rejected
	// BadLead maps the identity of each row in Bad to its lead, when that is known.
	BadLead map[any]int64
	// TextIDs is set when a lead's id read (a lead's id, a lead_id) was text (see textID).
	TextIDs bool
}

// Rejected is a skipped row of a known lead.
type Rejected struct{ Lead, Digest int64 }

type digestsKey struct{}

// WithRowDigests asks the reads under ctx for each row's digest where the query does not put it
// in front of the row (Digested): the rows' own (RowDigester) if they compute PostgreSQL's, else
// one computed from the row's values (SQLite, which computes none).
func WithRowDigests(ctx context.Context) context.Context {
	return context.WithValue(ctx, digestsKey{}, true)
}

// RowDigester is Rows that computes each row's digest itself, equal to the one RecordDigest
// gives the row in the database (the poller's pgx rows, through package pghash): a read then
// costs the database no hashing. ok is false when it cannot (a column's type it does not hash).
type RowDigester interface {
	RowDigest() (digest int64, ok bool)
}

// ErrRowDigest is a read's error when its rows could not compute a row's digest as the
// database would (RowDigester).
var ErrRowDigest = errors.New("a row's digest cannot be computed as PostgreSQL's hash_record")

// RowHash identifies a skipped row without a readable id by its content.
type RowHash uint64

func read[T any](ctx context.Context, db Querier, q Query, text string, decode func(*record) T, fn func(T), args ...any) (Result, error) {
	res := Result{Skipped: map[string]int{}, Bad: map[any]string{}, BadLead: map[any]int64{}}
	each := func(rows Rows) error { return scanRows(ctx, q, rows, &res, decode, fn) }
	var err error
	if nq, ok := db.(NativeQuerier); ok {
		err = nq.QueryNative(ctx, text, args, each)
	} else {
		err = SQLRows(ctx, db, text, args, each)
	}
	if err != nil {
		return res, queryErr(q, err)
	}
	return res, nil
}

// SQLRows runs a query through database/sql and gives fn its rows.
func SQLRows(ctx context.Context, db Querier, text string, args []any, fn func(Rows) error) error {
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return fn(rows)
}

// queryErr names the query in a read's error, once.
func queryErr(q Query, err error) error {
	var ce *ColumnError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("query %s: %w", q.Name, err)
}

// scanRows decodes rows into res and fn.
func scanRows[T any](ctx context.Context, q Query, rows Rows, res *Result, decode func(*record) T, fn func(T)) error {
	goDigests, _ := ctx.Value(digestsKey{}).(bool)
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	// A digested read (Digested) has the row's digest in front of the query's own columns.
	digested := len(cols) > 0 && strings.EqualFold(cols[0], DigestColumn)
	own := cols
	if digested {
		own = cols[1:]
	}
	idx, err := CheckColumns(q, own)
	if err != nil {
		return err
	}
	cells := make([]cell, len(cols))
	text := new(interner)
	rec := &record{q: &q, cells: cells, idx: idx}
	if digested {
		rec.cells = cells[1:]
	}
	digester, rowDigests := rows.(RowDigester)
	rowDigests = rowDigests && goDigests && !digested
	dest := make([]any, len(cols))
	for i := range cells {
		cells[i].text = text
		dest[i] = &cells[i]
	}
	raw, _ := rows.(RawRows)
	var rawCols []rawColumn
	if raw != nil {
		rawCols = rawColumnsOf(raw.FieldDescriptions())
	}
	for rows.Next() {
		if rawCols == nil || !scanRaw(rawCols, raw.RawValues(), cells) {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
		}
		res.Rows++
		rec.err, rec.long, rec.placeholder = nil, false, false
		switch {
		case digested:
			rec.digest = cells[0].i // an int, or the row has none (0)
			if cells[0].kind != cellInt {
				rec.digest = 0
			}
		case rowDigests:
			d, ok := digester.RowDigest()
			if !ok {
				return ErrRowDigest
			}
			rec.digest = d
		case goDigests:
			rec.digest = cellsDigest(rec.cells)
		}
		v := decode(rec)
		res.TextIDs = res.TextIDs || rec.text
		if rec.err != nil {
			res.Skipped[rec.err.Check]++
			id := rec.identity()
			res.Bad[id] = rec.err.Check
			if res.FirstSkip == nil {
				e := *rec.err
				res.FirstSkip = &e
			}
			if lead, ok := rec.lead(); ok {
				res.Rejected = append(res.Rejected, Rejected{Lead: lead, Digest: rec.digest})
				res.BadLead[id] = lead
			}
			continue
		}
		if rec.long || rec.placeholder { // kept, and counted by identity as skipped rows are
			id := rec.identity()
			res.Bad[id] = CheckValueTooLong
			if !rec.long {
				res.Bad[id] = CheckPlaceholder
			}
			if lead, ok := rec.lead(); ok {
				res.BadLead[id] = lead
			}
		}
		fn(v)
	}
	return rows.Err()
}

// cellsDigest is a row's digest computed from its values (cellsHash), an int4 as PostgreSQL's
// hash_record.
func cellsDigest(cells []cell) int64 { return int64(int32(cellsHash(cells))) }

// cellsHash hashes a row's values: FNV-1a over their types and text forms.
func cellsHash(cells []cell) uint64 {
	h := fnv.New64a()
	for _, c := range cells {
		v := c.value()
		fmt.Fprintf(h, "%T\x00%v\x00", v, v)
	}
	return h.Sum64()
}

func mustQuery(db Database, name string) Query {
	q, ok := LookupQuery(db, name)
	if !ok {
		panic("unknown query " + name)
	}
	return q
}

// ReadOwners streams the owners query's rows to fn.
func ReadOwners(ctx context.Context, db Querier, text string, fn func(Owner), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryOwners), text, decodeOwner, fn, args...)
}

// ReadLeads streams the leads query's rows to fn.
func ReadLeads(ctx context.Context, db Querier, text string, fn func(Lead), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryLeads), text, decodeLead, fn, args...)
}

// ReadActivities streams the activities query's rows to fn.
func ReadActivities(ctx context.Context, db Querier, text string, fn func(Activity), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryActivities), text, decodeActivity, fn, args...)
}

// ReadOpportunities streams the opportunities query's rows to fn.
func ReadOpportunities(ctx context.Context, db Querier, text string, fn func(Opportunity), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(CRM, QueryOpportunities), text, decodeOpportunity, fn, args...)
}

// ReadCampaigns streams the campaigns query's rows to fn.
func ReadCampaigns(ctx context.Context, db Querier, text string, fn func(Campaign), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryCampaigns), text, decodeCampaign, fn, args...)
}

// ReadCampaignStats streams the campaign_stats query's rows to fn.
func ReadCampaignStats(ctx context.Context, db Querier, text string, fn func(CampaignStat), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryCampaignStats), text, decodeCampaignStat, fn, args...)
}

// ReadTouchpoints streams the touchpoints query's rows to fn.
func ReadTouchpoints(ctx context.Context, db Querier, text string, fn func(Touchpoint), args ...any) (Result, error) {
	return read(ctx, db, mustQuery(Campaigns, QueryTouchpoints), text, decodeTouchpoint, fn, args...)
}

// Check runs a query without reading its rows and verifies its columns: what --config.check does
// for every configured query.
func Check(ctx context.Context, db Querier, q Query, text string) error {
	cols, err := columnsOf(ctx, db, text)
	if err != nil {
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	_, err = CheckColumns(q, cols)
	return err
}

// SampleRows is how many rows Sample decodes.
const SampleRows = 200

// Sample decodes a query's first SampleRows rows, as a poll would, and fails when most of them
// cannot be decoded: a mapping that hands Tandem timestamps in a foreign text form (31-12-2026),
// or text where a number belongs, would otherwise run "successfully" and skip every row. The
// error names the column, the values' masked form and what is accepted.
func Sample(ctx context.Context, db Querier, q Query, text string) error {
	decode, ok := decoders[q.Name]
	if !ok {
		return nil
	}
	res, err := read(ctx, db, q, Wrap(text, "tandem_sample")+fmt.Sprintf(" LIMIT %d", SampleRows), decode, func(any) {})
	if err != nil {
		return err
	}
	skipped := 0
	for check, n := range res.Skipped {
		if check == CheckBadValue || check == CheckNullRequired {
			skipped += n
		}
	}
	if res.Rows > 0 && 2*skipped > res.Rows && res.FirstSkip != nil {
		return fmt.Errorf("query %s: %d of its first %d rows cannot be decoded: %v", q.Name, skipped, res.Rows, res.FirstSkip)
	}
	return nil
}

var decoders = map[string]func(*record) any{
	QueryOwners:        func(r *record) any { return decodeOwner(r) },
	QueryLeads:         func(r *record) any { return decodeLead(r) },
	QueryActivities:    func(r *record) any { return decodeActivity(r) },
	QueryOpportunities: func(r *record) any { return decodeOpportunity(r) },
	QueryCampaigns:     func(r *record) any { return decodeCampaign(r) },
	QueryCampaignStats: func(r *record) any { return decodeCampaignStat(r) },
	QueryTouchpoints:   func(r *record) any { return decodeTouchpoint(r) },
}

// columnsOf runs a query with LIMIT 0: its result columns, without reading a row.
func columnsOf(ctx context.Context, db Querier, text string) ([]string, error) {
	rows, err := db.QueryContext(ctx, Wrap(text, "tandem_probe")+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// Returns reports whether a query's SQL returns the column (a LIMIT 0 probe): how the poller
// learns whether a custom query declared the watermark column.
func Returns(ctx context.Context, db Querier, text, column string) (bool, error) {
	cols, err := columnsOf(ctx, db, text)
	if err != nil {
		return false, err
	}
	for _, c := range cols {
		if strings.EqualFold(c, column) {
			return true, nil
		}
	}
	return false, nil
}

// Since wraps a query so that it returns only rows whose watermark column is after a
// parameter; PostgreSQL and SQLite push the condition down into the query and use the index.
func Since(text string) string {
	return Wrap(text, "tandem_delta") + " WHERE " + Watermark + " > ?"
}

// ReadIDs streams the values of one id column (id, lead_id) of a query's rows, decoded as the
// query's own rows decode them; rows where it is NULL or unreadable are left out.
func ReadIDs(ctx context.Context, db Querier, text, column string, fn func(int64), args ...any) (Result, error) {
	q := Query{Name: QueryLeads, Columns: []Column{{column, true, ""}}} // a lead's id
	if column != "id" {
		q.Name = column
	}
	return read(ctx, db, q, "SELECT "+column+" FROM ("+text+") AS tandem_ids", func(r *record) int64 { return r.int64(0) }, fn, args...)
}

// DigestSums streams, per value of a query's id column (id, lead_id), how many rows it has and
// the sum of their digests (Digested), as PostgreSQL computes them: what a reconciliation
// compares with the sums the tally kept. An empty column gives one sum of every row (id 0),
// without grouping: a quarter cheaper for PostgreSQL (5M activities: 0.58 s instead of 0.77 s),
// which is what a reconciliation that finds nothing costs. where filters the rows; column and
// where take "?" placeholders, bound to args in that order (sqlx's Rebind, when db has it).
func DigestSums(ctx context.Context, db Querier, text, digest, column, where string, fn func(id, n, sum int64), args ...any) (Result, error) {
	id, group := column, " GROUP BY 1"
	if column == "" {
		id, group = "0", ""
	}
	sql := "SELECT " + id + " AS id, count(*) AS n, coalesce(sum(" + digest + "), 0) AS sum FROM (\n" + text + "\n) AS tandem_r"
	if where != "" {
		sql += " WHERE " + where
	}
	sql += group
	if b, ok := db.(interface{ Rebind(string) string }); ok {
		sql = b.Rebind(sql) // "?" placeholders, in the column expression and in where
	}
	q := Query{Name: id + " digests", Columns: []Column{{"id", false, ""}, {"n", true, ""}, {"sum", true, ""}}}
	type row struct{ id, n, sum int64 }
	return read(ctx, db, q, sql, func(r *record) row { return row{r.int64(0), r.int64(1), r.int64(2)} },
		func(x row) { fn(x.id, x.n, x.sum) }, args...)
}
