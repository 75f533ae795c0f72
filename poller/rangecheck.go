package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/tandem-oss/tandem/source"
)

// A full recount reads each query's rows by ranges of lead ids (source.InRange), a few thousand
// leads a range. On a table laid out in lead order, PostgreSQL reads a range from a few pages.
// A CRM's tables are seldom in that order: a sync tool appends rows as they change, so a lead's
// activities lie across months of the table, and each row of a range costs a page of its own.
//
// At a million leads, with the same rows laid out in the order of their timestamps instead of
// by lead (the activities' lead_id correlation was still 0.93), the cold start took 16.2-21.6 s
// instead of 7.2-7.3 s, and the machine's CPU 30-34 s instead of 13-14 s, nearly all of it
// PostgreSQL's. In EXPLAIN ANALYZE, the activities' ranges of 2,048 leads took 6.5 s in all
// against 0.86 s. Covering indexes made the same tables cheap again: each range was then read
// by an index-only scan (0.85 s in all), and the cold start took 8.6-9.0 s.
//
// So the first full recount measures how one range of each query is read, and warns when it
// costs about a page a row, with what to do about it.

// rangeShape is how PostgreSQL read one range of a query: the rows it returned, the shared
// buffers its plan touched for them, and the relations it read.
type rangeShape struct {
	rows, buffers int64
	relations     []string
}

// scatteredRows is the fewest rows a measured range needs for a verdict: a few rows tell
// nothing of a table's order.
const scatteredRows = 256

// scattered reports whether a range's rows cost a buffer for every two rows or more: rows read
// in lead order take a page for tens of rows.
func (s rangeShape) scattered() bool { return s.rows >= scatteredRows && 2*s.buffers >= s.rows }

// planNode is what rangeShape reads of a node of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON): a
// node's buffers include its children's.
type planNode struct {
	Relation string     `json:"Relation Name"`
	Rows     float64    `json:"Actual Rows"`
	Loops    float64    `json:"Actual Loops"`
	Hit      int64      `json:"Shared Hit Blocks"`
	Read     int64      `json:"Shared Read Blocks"`
	Plans    []planNode `json:"Plans"`
}

// shapeOf reads a range's shape from the output of EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON).
func shapeOf(explained []byte) (rangeShape, error) {
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(explained, &out); err != nil {
		return rangeShape{}, fmt.Errorf("reading EXPLAIN's plan: %w", err)
	}
	if len(out) != 1 {
		return rangeShape{}, fmt.Errorf("reading EXPLAIN's plan: %d plans", len(out))
	}
	top := out[0].Plan
	s := rangeShape{rows: int64(math.Round(top.Rows * max(top.Loops, 1))), buffers: top.Hit + top.Read}
	var walk func(n planNode)
	walk = func(n planNode) {
		if n.Relation != "" && !slices.Contains(s.relations, n.Relation) {
			s.relations = append(s.relations, n.Relation)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(top)
	slices.Sort(s.relations)
	return s, nil
}

// explainRange runs a range read under EXPLAIN ANALYZE on q, behind a savepoint: it reads the
// range's rows once more, and a failure (a server without BUFFERS, a query EXPLAIN refuses)
// leaves the transaction usable.
func explainRange(ctx context.Context, q source.Querier, text string, args []any) (rangeShape, error) {
	tx, ok := q.(*readTx)
	if !ok {
		return rangeShape{}, fmt.Errorf("not a poll's transaction: %T", q)
	}
	var plan []byte
	if err := tx.behindSavepoint(ctx, "tandem_range_shape", func() error {
		return tx.GetContext(ctx, &plan, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+text, args...)
	}); err != nil {
		return rangeShape{}, err
	}
	return shapeOf(plan)
}

// checkRange measures, once per query in the poller's life, how a range of its rows is read
// (text, args: a range read of query name, on q), and warns when the range cost about a page a
// row. PostgreSQL only; a range that is the whole table tells nothing and is not measured. A
// measurement that fails is logged at debug level: it never fails the poll.
func (p *Poller) checkRange(ctx context.Context, q source.Querier, name, column string, lo, hi int64, text string, args []any) {
	if p.cfg.DB(p.db).Driver != "postgres" || lo == math.MinInt64 && hi == math.MaxInt64 {
		return
	}
	if _, done := p.rangeChecked.LoadOrStore(name, true); done {
		return
	}
	s, err := explainRange(ctx, q, text, args)
	if err != nil {
		p.logger.Debug("could not measure how a range of a query is read", "query", name, "err", err)
		return
	}
	if !s.scattered() {
		p.logger.Debug("a range of a query is read in lead order", "query", name, "rows", s.rows, "buffers", s.buffers)
		return
	}
	p.logger.Warn("a full recount reads this query's rows about a page a row: its table is not in lead order, "+
		"which makes a cold start several times slower than it needs to be",
		"query", name, "rows", s.rows, "buffers", s.buffers, "relations", s.relations,
		"fix", fmt.Sprintf("an index on (%s) that INCLUDEs every other column the query reads, so that PostgreSQL "+
			"reads each range from the index alone once the table is vacuumed (CREATE INDEX CONCURRENTLY takes no lock "+
			"that stops writes); or CLUSTER the table on its %s index, which rewrites it", column, column))
}
