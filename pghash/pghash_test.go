package pghash

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandem-oss/tandem/internal/testdb"
	"github.com/tandem-oss/tandem/source"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// columns of the differential table, with SQL giving a random value of each (about one in ten
// NULL) and edge values.
var columns = []struct{ name, typ, random string }{
	{"b", "bool", "random() < 0.5"},
	{"i2", "int2", "(random()*65535 - 32767)::int2"},
	{"i4", "int4", "(random()*4294967295 - 2147483647)::int4"},
	{"i8", "int8", "((random() - 0.5) * 2^(random()*63))::int8"},
	{"t", "text", "substr(repeat(md5(random()::text) || 'é∑😀ß', 3), (random()*5)::int + 1, (random()*45)::int)"},
	{"vc", "varchar(60)", "substr(md5(random()::text) || 'Ünïcödé', 1, (random()*40)::int)"},
	{"f4", "float4", "((random() - 0.5) * 10^(random()*20 - 10))::float4"},
	{"f8", "float8", "(random() - 0.5) * 10^(random()*40 - 20)"},
	{"d", "date", "date '1900-01-01' + (random()*80000)::int"},
	{"ts", "timestamp", "timestamp '1950-01-01' + random() * interval '100 years'"},
	{"tz", "timestamptz", "timestamptz '1950-01-01 00:00:00+00' + random() * interval '100 years'"},
	{"n", "numeric", "round(((random() - 0.5) * 10^(random()*24 - 8))::numeric, (random()*10)::int)"},
}

const edges = `INSERT INTO v VALUES
	(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(true, -32768, -2147483648, -9223372036854775808, '', '', '-0', '-0', '-infinity', '-infinity', '-infinity', 'NaN'),
	(false, 32767, 2147483647, 9223372036854775807, 'abcdefghijkl', 'abcdefghijklm', 'NaN', 'NaN', 'infinity', 'infinity', 'infinity', '0'),
	(true, 0, 0, 0, 'a', 'ab', 'Infinity', 'Infinity', '2000-01-01', '2000-01-01', '2000-01-01 00:00:00+00', '0.000'),
	(false, -1, -1, -1, 'abc', 'abcd', '-Infinity', '-Infinity', '1999-12-31', '1999-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00', '-1.0001'),
	(true, 1, 1, 4294967296, 'abcdefghijk', 'abcdefghijklmnopqrstuvwx', '1e-30', '1e-300', '2024-02-29', '2024-02-29 12:00:00', '2024-02-29 12:00:00+00', '100000000'),
	(true, 2, 2, -4294967296, 'abcdefghijklmnopqrstuvw', 'x', '3.4e38', '1.7e308', '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '0.00001'),
	(false, 3, 3, 2147483648, '€', '€€', '1', '1', '4713-01-01 BC', '2100-01-01', '2100-01-01 00:00:00+00', '12345678.87654321'),
	(false, 4, 4, -2147483649, 'ab', 'abc', '-1', '-1', '5874897-12-31', '294276-12-31 23:59:59', '294276-12-31 23:59:59+00', 'Infinity'),
	(false, 5, 5, 5, 'abcdefgh', 'abcdefghi', '0.1', '0.1', '2000-01-02', '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00.000001+00', '-Infinity'),
	(false, 6, 6, 6, 'abcdefghij', 'abcdefghijklmnopqrstuvwxyz0123456789', '2', '2', '2000-01-03', '2000-01-01', '2000-01-01 00:00:00+00', '-0.5'),
	(false, 7, 7, 7, 'abcdefg', 'abcdefghijklmnop', '3', '3', '2000-01-04', '2000-01-01', '2000-01-01 00:00:00+00', '10000'),
	(false, 8, 8, 8, 'abcdef', 'abcde', '4', '4', '2000-01-05', '2000-01-01', '2000-01-01 00:00:00+00', '9999.9999'),
	(false, 9, 9, 9, 'abcdefghijklmnopqrstuvwxyz', 'abcdefghijklmnopqrstuvwxyzab', '5', '5', '2000-01-06', '2000-01-01', '2000-01-01 00:00:00+00', '0.0001'),
	(false, 10, 10, 10, 'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz', '', '6', '6', '2000-01-07', '2000-01-01', '2000-01-01 00:00:00+00', '-00012.3400')`

// TestRecordMatchesPostgreSQL compares Record.Digest with PostgreSQL's own hash_record over
// thousands of random rows and the edge values of every covered type: each column alone (one
// type's hash function at a time), then whole rows (the combination).
func TestRecordMatchesPostgreSQL(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var defs, randoms []string
	for _, c := range columns {
		defs = append(defs, c.name+" "+c.typ)
		randoms = append(randoms, "CASE WHEN random() < 0.1 THEN NULL ELSE "+c.random+" END")
	}
	for _, q := range []string{
		"CREATE TABLE v (" + strings.Join(defs, ", ") + ")",
		"SELECT setseed(0.25)",
		"INSERT INTO v SELECT " + strings.Join(randoms, ", ") + " FROM generate_series(1, 5000)",
		edges,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	check := func(t *testing.T, cols string) {
		rows, err := conn.Query(ctx, "SELECT hash_record(r)::bigint, r.* FROM (SELECT "+cols+" FROM v) AS r", source.ResultFormats)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		fds := rows.FieldDescriptions()[1:]
		rec, bad, ok := RecordOf(fds)
		if !ok {
			t.Fatalf("type %d (format %d) not covered", fds[bad].DataTypeOID, fds[bad].Format)
		}
		n, wrong := 0, 0
		for rows.Next() {
			raw := rows.RawValues()
			var want int64
			if err := (pgtype.Int8Codec{}).PlanScan(conn.TypeMap(), pgtype.Int8OID, 1, &want).Scan(raw[0], &want); err != nil {
				t.Fatal(err)
			}
			got, ok := rec.Digest(raw[1:])
			n++
			if !ok || got != want {
				if wrong++; wrong <= 5 {
					vals, _ := rows.Values()
					t.Errorf("%s = %v: digest %d (ok %v), PostgreSQL's %d", cols, vals[1:], got, ok, want)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n < 5000 {
			t.Fatalf("%d rows compared", n)
		}
		if wrong > 0 {
			t.Errorf("%s: %d of %d rows hash otherwise", cols, wrong, n)
		}
	}
	var all []string
	for _, c := range columns {
		all = append(all, c.name)
		t.Run(c.typ, func(t *testing.T) { check(t, c.name) })
	}
	t.Run("row", func(t *testing.T) { check(t, strings.Join(all, ", ")) })
}

// TestNumericText checks the parse behind Numeric on the forms PostgreSQL prints and rejects
// what it never prints.
func TestNumericText(t *testing.T) {
	same := [][2]string{{"1.50", "1.5"}, {"0001", "1"}, {"-2.0", "2"}, {"10000.0000", "10000"}, {"0.000", "0"}, {"NaN", "Infinity"}}
	for _, p := range same {
		a, okA := Numeric([]byte(p[0]))
		b, okB := Numeric([]byte(p[1]))
		if !okA || !okB || a != b {
			t.Errorf("Numeric(%s) = %d, %v; Numeric(%s) = %d, %v: want the same hash", p[0], a, okA, p[1], b, okB)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "1.2.3", "abc", " 1"} {
		if _, ok := Numeric([]byte(s)); ok {
			t.Errorf("Numeric(%q) accepted", s)
		}
	}
	if a, _ := Numeric([]byte("1")); a == func() uint32 { b, _ := Numeric([]byte("10")); return b }() {
		t.Error("1 and 10 hash alike")
	}
}

// TestNotCovered: a type whose hash is not computed here is reported, with its column.
func TestNotCovered(t *testing.T) {
	for _, c := range []struct {
		oid    uint32
		format int16
	}{{pgtype.UUIDOID, 0}, {pgtype.JSONOID, 0}, {pgtype.Int8OID, pgtype.TextFormatCode}, {pgtype.TextOID, pgtype.BinaryFormatCode}, {pgtype.BPCharOID, 0}} {
		if _, ok := ColumnOf(c.oid, c.format); ok {
			t.Errorf("type %d format %d covered", c.oid, c.format)
		}
	}
	if _, bad, ok := RecordOf([]pgconn.FieldDescription{{DataTypeOID: pgtype.Int8OID, Format: 1}, {DataTypeOID: pgtype.UUIDOID}}); ok || bad != 1 {
		t.Errorf("RecordOf: bad %d, ok %v; want column 1 reported", bad, ok)
	}
}
