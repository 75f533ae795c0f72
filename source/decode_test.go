package source

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// row builds a record of a query from values in canonical column order.
func row(q Query, vals ...any) *record {
	r := &record{q: &q, cells: make([]cell, len(vals)), idx: make([]int, len(q.Columns))}
	for i := range r.idx {
		r.idx[i] = -1 // a column not given: as if the query left out an optional column
		if i < len(vals) {
			r.cells[i].Scan(vals[i]) //nolint:errcheck
			r.idx[i] = i
		}
	}
	return r
}

func TestDecodeValues(t *testing.T) {
	leads := mustQuery(CRM, QueryLeads)
	ts := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		vals  []any
		check string // "" = decodes
	}{
		{"typed", []any{int64(1), ts, ts, "email", "na", "smb", int64(3), "MQL", ts, nil, nil, nil}, ""},
		{"text as SQLite stores it", []any{"1", "2026-03-02 09:00:00+00:00", "2026-03-02T09:00:00Z", []byte("email"), nil, nil, nil, "New", "2026-03-02", nil, nil, nil}, ""},
		{"PostgreSQL's text form of a timestamptz", []any{int64(1), "2026-03-02 10:00:00.5+01", "2026-03-02 09:00:00+05:30", nil, nil, nil, nil, "New", nil, nil, nil, nil}, ""},
		{"Go's time.String form", []any{int64(1), "2026-03-02 09:00:00 +0000 UTC", nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, ""},
		{"epoch seconds", []any{int64(1), int64(1772442000), nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, ""},
		{"Salesforce text id", []any{"00Q5e00000AbCdEFGH", ts, nil, nil, nil, nil, "0055e000001XyZaAAA", "New", nil, nil, nil, nil}, ""},
		{"NULL id", []any{nil, ts, nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, CheckNullRequired},
		{"NULL created_at", []any{int64(1), nil, nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, CheckNullRequired},
		{"timestamp that does not parse", []any{int64(1), "yesterday", nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, CheckBadValue},
		{"year-one placeholder date", []any{int64(1), "0001-01-01", nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, CheckBadValue},
		{"fractional id", []any{1.5, ts, nil, nil, nil, nil, nil, "New", nil, nil, nil, nil}, CheckBadValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := row(leads, c.vals...)
			l := decodeLead(r)
			switch {
			case c.check == "" && r.err != nil:
				t.Fatalf("unexpected %v", r.err)
			case c.check != "" && (r.err == nil || r.err.Check != c.check):
				t.Fatalf("want %s, got %v", c.check, r.err)
			case c.check == "" && (l.ID == 0 || l.CreatedAt.IsZero()):
				t.Fatalf("decoded %+v", l)
			}
		})
	}
	opp := mustQuery(CRM, QueryOpportunities)
	for _, c := range []struct {
		amount any
		want   int64
	}{{"1234.56", 123456}, {1234.56, 123456}, {int64(12), 1200}, {[]byte("0.1"), 10}} {
		r := row(opp, int64(1), int64(2), c.amount, "USD", "Discovery", ts, nil, nil, false, false)
		if o := decodeOpportunity(r); r.err != nil || int64(o.Amount) != c.want {
			t.Errorf("amount %v: %v %v", c.amount, o.Amount, r.err)
		}
	}
	var ce *ColumnError
	// updated_at is optional (it only makes the query incremental): never reported missing.
	if _, err := CheckColumns(leads, []string{"ID", "created_at"}); !errors.As(err, &ce) || len(ce.Missing) != 9 || strings.Contains(err.Error(), "updated_at") {
		t.Errorf("missing columns not reported right: %v", err)
	}
	if _, err := CheckColumns(mustQuery(CRM, QueryOwners), []string{"id", "name", "sales_team", "region", "email"}); !errors.As(err, &ce) || ce.Extra[0] != "email" {
		t.Errorf("extra column not reported: %v", err)
	}
}

// FuzzDecode: no value a driver can return crashes the decoder of any query, and a row either
// decodes or is reported with a check.
func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), "2026-01-02 03:04:05", int64(7), 1.5, true, uint8(0))
	f.Add(uint8(3), "", int64(-1), math.Inf(1), false, uint8(255))
	f.Add(uint8(6), "00Q5e00000AbCdEFGH", int64(math.MaxInt64), math.NaN(), true, uint8(17))
	f.Fuzz(func(t *testing.T, which uint8, s string, n int64, x float64, b bool, pattern uint8) {
		q := Queries[int(which)%len(Queries)]
		vals := make([]any, len(q.Columns))
		for i := range vals {
			switch (int(pattern) + i*7) % 7 {
			case 0:
				vals[i] = nil
			case 1:
				vals[i] = s
			case 2:
				vals[i] = n
			case 3:
				vals[i] = x
			case 4:
				vals[i] = b
			case 5:
				vals[i] = []byte(s)
			case 6:
				vals[i] = time.Unix(n%1e11, 0)
			}
		}
		r := row(q, vals...)
		switch q.Name {
		case QueryOwners:
			decodeOwner(r)
		case QueryLeads:
			if l := decodeLead(r); r.err == nil && l.CreatedAt.IsZero() {
				t.Fatalf("a lead decoded without its required created_at: %v", vals)
			}
		case QueryActivities:
			decodeActivity(r)
		case QueryOpportunities:
			decodeOpportunity(r)
		case QueryCampaigns:
			decodeCampaign(r)
		case QueryCampaignStats:
			decodeCampaignStat(r)
		case QueryTouchpoints:
			decodeTouchpoint(r)
		}
		if r.err != nil && r.err.Check != CheckNullRequired && r.err.Check != CheckBadValue {
			t.Fatalf("unknown check %q", r.err.Check)
		}
	})
}
