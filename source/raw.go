package source

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// ResultFormats is how native reads (NativeQuerier) ask for values: in binary those pgx's
// database/sql adapter asks for in binary (numbers, timestamps, booleans), the rest (numeric,
// uuid, json...) as text, so a native read decodes every value as a database/sql read of the
// same row does. The raw decoders here and package pghash take values in these formats.
var ResultFormats = pgx.QueryResultFormatsByOID{
	pgtype.BoolOID: 1, pgtype.ByteaOID: 1, pgtype.CIDOID: 1, pgtype.DateOID: 1, pgtype.Float4OID: 1,
	pgtype.Float8OID: 1, pgtype.Int2OID: 1, pgtype.Int4OID: 1, pgtype.Int8OID: 1, pgtype.OIDOID: 1,
	pgtype.TimestampOID: 1, pgtype.TimestamptzOID: 1, pgtype.XIDOID: 1,
}

// RawRows is Rows that also gives the current row's values as they came over the wire, with
// their columns' types (pgx's rows). Where every column is of a type rawColumnOf decodes, a read
// decodes the values itself into its cells, through the cells' own pgx scanner methods, as
// pgx's scan plans would: at a million leads, pgx's per-value dispatch (plan lookup, interface
// checks) was about 0.5 s of a cold start's 9M rows. A value it does not expect (a length, an
// infinite or far time) makes that row go through the rows' Scan, which decodes or fails as it
// always did.
type RawRows interface {
	FieldDescriptions() []pgconn.FieldDescription
	RawValues() [][]byte
}

// rawColumn decodes one wire value into a cell, or reports false for a value left to pgx.
type rawColumn func(c *cell, v []byte) bool

// rawColumnsOf returns a decoder per column, or nil when a column's type or format is not one
// decoded here (the read then uses the rows' Scan throughout).
func rawColumnsOf(fds []pgconn.FieldDescription) []rawColumn {
	out := make([]rawColumn, len(fds))
	for i, f := range fds {
		if out[i] = rawColumnOf(f.DataTypeOID, f.Format); out[i] == nil {
			return nil
		}
	}
	return out
}

// rawTimeLimit bounds the times decoded here, in microseconds from 2000-01-01 either way: about
// 4000 BC to 8000 AD, inside pgx's own range (4713 BC to 294276 AD), so none needs its range
// check; a time beyond, infinite ones included, goes through pgx.
const rawTimeLimit = 6000 * 366 * 24 * 3600 * 1_000_000

// microsFromUnixEpochToY2K is 2000-01-01 in microseconds since 1970-01-01, as pgx has it.
const microsFromUnixEpochToY2K = 946_684_800 * 1_000_000

func rawColumnOf(oid uint32, format int16) rawColumn {
	if format == pgtype.TextFormatCode {
		switch oid {
		case pgtype.TextOID, pgtype.VarcharOID: // pgx: scanPlanAnyToByteScanner
			return func(c *cell, v []byte) bool { return c.ScanBytes(v) == nil }
		case pgtype.NumericOID: // pgx: parsed into a Numeric, then its Value (cell.ScanNumeric)
			return rawNumeric
		}
		return nil
	}
	switch oid {
	case pgtype.Int8OID:
		return rawInt(8, func(v []byte) int64 { return int64(binary.BigEndian.Uint64(v)) })
	case pgtype.Int4OID:
		return rawInt(4, func(v []byte) int64 { return int64(int32(binary.BigEndian.Uint32(v))) })
	case pgtype.Int2OID:
		return rawInt(2, func(v []byte) int64 { return int64(int16(binary.BigEndian.Uint16(v))) })
	case pgtype.BoolOID: // pgx: scanPlanBinaryBoolToBoolScanner
		return func(c *cell, v []byte) bool {
			if v == nil {
				return c.ScanBool(pgtype.Bool{}) == nil
			}
			return len(v) == 1 && c.ScanBool(pgtype.Bool{Bool: v[0] == 1, Valid: true}) == nil
		}
	case pgtype.DateOID: // pgx: scanPlanBinaryDateToDateScanner; ±infinity left to it
		return func(c *cell, v []byte) bool {
			if v == nil {
				return c.ScanDate(pgtype.Date{}) == nil
			}
			if len(v) != 4 {
				return false
			}
			days := int32(binary.BigEndian.Uint32(v))
			if days == math.MaxInt32 || days == math.MinInt32 {
				return false
			}
			return c.ScanDate(pgtype.Date{Time: time.Date(2000, 1, int(1+days), 0, 0, 0, 0, time.UTC), Valid: true}) == nil
		}
	case pgtype.TimestamptzOID: // pgx: scanPlanBinaryTimestamptzToTimestamptzScanner, no ScanLocation
		return func(c *cell, v []byte) bool {
			if v == nil {
				return c.ScanTimestamptz(pgtype.Timestamptz{}) == nil
			}
			if len(v) != 8 {
				return false
			}
			us := int64(binary.BigEndian.Uint64(v))
			if us <= -rawTimeLimit || us >= rawTimeLimit {
				return false
			}
			t := time.Unix(microsFromUnixEpochToY2K/1_000_000+us/1_000_000, (microsFromUnixEpochToY2K%1_000_000*1_000)+(us%1_000_000*1_000))
			return c.ScanTimestamptz(pgtype.Timestamptz{Time: t, Valid: true}) == nil
		}
	}
	return nil
}

// rawNumeric keeps a numeric's text as PostgreSQL sent it, where it is a plain decimal
// (-?digits[.digits]), which is how it prints every finite numeric: the text pgx's Numeric gives
// back for it is the same (TestRawDecodeMatchesScanAmounts), without parsing the digits into a
// big.Int and printing them again. With the booleans and dates, an opportunity's and a campaign
// day's rows are decoded here whole: at a million leads the opportunities' read took 0.15-0.33 s
// of CPU in a cold start instead of 0.39-0.47 s. NaN and ±Infinity are left to pgx.
func rawNumeric(c *cell, v []byte) bool {
	if v == nil {
		return c.ScanNumeric(pgtype.Numeric{}) == nil
	}
	if !plainDecimal(v) {
		return false
	}
	c.numericText(string(v))
	return true
}

func plainDecimal(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	digits, point := 0, false
	for i, b := range v {
		switch {
		case b >= '0' && b <= '9':
			digits++
		case b == '.' && !point && digits > 0 && i < len(v)-1:
			point = true
		default:
			return false
		}
	}
	return digits > 0
}

// rawInt decodes a binary integer of n bytes as pgx's scan to an Int64Scanner does.
func rawInt(n int, decode func([]byte) int64) rawColumn {
	return func(c *cell, v []byte) bool {
		if v == nil {
			return c.ScanInt64(pgtype.Int8{}) == nil
		}
		if len(v) != n {
			return false
		}
		return c.ScanInt64(pgtype.Int8{Int64: decode(v), Valid: true}) == nil
	}
}

// scanRaw decodes a row's wire values into cells; false leaves the row to the rows' Scan.
func scanRaw(cols []rawColumn, values [][]byte, cells []cell) bool {
	if len(values) != len(cols) {
		return false
	}
	for i, col := range cols {
		if !col(&cells[i], values[i]) {
			return false
		}
	}
	return true
}
