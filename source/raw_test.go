package source

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/jackc/pgx/v5"

	"github.com/tandem-oss/tandem/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestRawDecodeMatchesScan decodes the same rows of every type rawColumnOf covers twice, by
// scanRaw and by pgx's own Scan into the cells, and wants the same cells: random rows and the
// edges (NULLs, integer limits, empty, multibyte and over-long text, times at the microsecond,
// before 1970, in year 1 and 2999, and the infinite ones, which go to pgx).
func TestRawDecodeMatchesScan(t *testing.T) {
	n, direct := decodeBothWays(t, `SELECT * FROM (
		SELECT (random()*60000 - 30000)::int2 AS a, (random()*4e9 - 2e9)::int4 AS b, ((random() - 0.5) * 2^62)::int8 AS c,
			substr(md5(random()::text) || 'é😀', 1, (random()*40)::int)::text AS d, md5(random()::text)::varchar(20) AS e,
			timestamptz '1901-01-01 00:00:00+00' + random() * interval '198 years' AS f
		FROM generate_series(1, 3000)
		UNION ALL VALUES
			(NULL::int2, NULL::int4, NULL::int8, NULL::text, NULL::varchar(20), NULL::timestamptz),
			(-32768, -2147483648, -9223372036854775808, '', '', '1969-12-31 23:59:59.999999+00'),
			(32767, 2147483647, 9223372036854775807, repeat('é', 600), 'x', '2000-01-01 00:00:00.000001+00'),
			(0, 0, 0, 'a', 'b', 'infinity'), (1, 1, 1, 'a', 'b', '-infinity'),
			(2, 2, 2, 'a', 'b', '0001-01-01 00:00:00+00'), (3, 3, 3, 'a', 'b', '2999-12-31 23:59:59.5+00')
	) AS v`)
	if n != 3007 || direct != 3005 {
		t.Errorf("%d rows, %d decoded raw: want 3007, all but the 2 infinite times", n, direct)
	}
}

// TestRawDecodeMatchesScanAmounts is TestRawDecodeMatchesScan for the columns of an
// opportunity's and a campaign day's rows beside the integers, text and times: booleans, dates
// and numerics (sent as text). Random rows and the edges: NULLs, zero at any scale, 40 digits,
// tiny fractions, negatives, dates at 2000-01-01 and far from it; NaN, ±Infinity and the
// infinite dates go to pgx.
func TestRawDecodeMatchesScanAmounts(t *testing.T) {
	n, direct := decodeBothWays(t, `SELECT * FROM (
		SELECT random() < 0.5 AS a, date '1901-01-01' + (random() * 70000)::int AS b,
			round(((random() - 0.3) * 10 ^ (random() * 12))::numeric, (random() * 6)::int) AS c,
			(random() * 1e6)::numeric(12, 2) AS d
		FROM generate_series(1, 3000)
		UNION ALL VALUES
			(NULL::bool, NULL::date, NULL::numeric, NULL::numeric(12, 2)),
			(true, date '2000-01-01', 0::numeric, 0.00::numeric(12, 2)),
			(false, date '1999-12-31', 0.000::numeric, -0.01::numeric(12, 2)),
			(true, date '0001-01-01', 1234567890123456789012345678901234567890::numeric, 9999999999.99::numeric(12, 2)),
			(false, date '9999-12-31', 0.0000000001::numeric, 100::numeric(12, 2)),
			(true, date '2028-02-29', -123.456000::numeric, -5::numeric(12, 2)),
			(true, date 'infinity', 1::numeric, 1),
			(false, date '-infinity', 1::numeric, 1),
			(true, date '2026-12-06', 'NaN'::numeric, 1),
			(true, date '2026-12-06', 'Infinity'::numeric, 1),
			(true, date '2026-12-06', '-Infinity'::numeric, 1)
	) AS v`)
	if n != 3011 || direct != 3006 {
		t.Errorf("%d rows, %d decoded raw: want 3011, all but the 2 infinite dates and the 3 numerics that are not numbers", n, direct)
	}
}

// decodeBothWays reads the rows of query, whose every column rawColumnsOf must decode, into cells
// twice: by scanRaw and by pgx's own Scan. It reports every value the two decode differently
// and returns how many rows it read and how many of them scanRaw decoded (the others, values
// it leaves to pgx, are compared with nothing).
func decodeBothWays(t *testing.T, query string) (n, direct int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query, ResultFormats)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := rawColumnsOf(rows.FieldDescriptions())
	if cols == nil {
		t.Fatalf("not every column of %v is decoded raw", rows.FieldDescriptions())
	}
	text := new(interner)
	raw, scanned := make([]cell, len(cols)), make([]cell, len(cols))
	dest := make([]any, len(cols))
	for i := range cols {
		raw[i].text, scanned[i].text = text, text
		dest[i] = &scanned[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		n++
		if !scanRaw(cols, rows.RawValues(), raw) {
			continue
		}
		direct++
		for i := range raw {
			if !reflect.DeepEqual(raw[i].value(), scanned[i].value()) || raw[i].kind != scanned[i].kind {
				t.Errorf("row %d column %d: raw %#v, pgx %#v", n, i, raw[i].value(), scanned[i].value())
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n, direct
}

// TestInternerSharesValues: through its recent slots or its map, the interner gives back each
// short value equal to its bytes and as one shared copy (the same string data every time), an
// empty value included; a long one is copied and not shared.
func TestInternerSharesValues(t *testing.T) {
	in := new(interner)
	var values []string
	for i := range 300 { // more than the slots: values evict each other
		values = append(values, fmt.Sprintf("v%d", i%150), "")
	}
	values = append(values, strings.Repeat("x", internMax+1))
	first := map[string]*byte{}
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		v := values[r.IntN(len(values))]
		got, shared := in.of([]byte(v))
		if got != v {
			t.Fatalf("of(%q) = %q", v, got)
		}
		if long := len(v) > internMax; shared == long {
			t.Fatalf("of(%q): shared %v", v, shared)
		}
		if shared && len(v) > 0 {
			p := unsafe.StringData(got)
			if q, ok := first[v]; ok && q != p {
				t.Fatalf("of(%q) gave two copies", v)
			}
			first[v] = p
		}
	}
}
