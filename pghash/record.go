package pghash

import (
	"encoding/binary"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Column hashes one non-NULL value of a column as it arrived on the wire (its type's hash
// support function). ok is false when the value is not of the form the type sends: the row's
// hash is then not PostgreSQL's.
type Column func(v []byte) (h uint32, ok bool)

// ColumnOf returns the hash of a column of type oid (pgtype's OIDs) whose values arrive in
// format (pgtype.TextFormatCode, BinaryFormatCode), or false for a type or format not covered.
func ColumnOf(oid uint32, format int16) (Column, bool) {
	if format == pgtype.TextFormatCode {
		switch oid {
		case pgtype.TextOID, pgtype.VarcharOID: // hashtext under a deterministic collation: the bytes
			return func(v []byte) (uint32, bool) { return Bytes(v), true }, true
		case pgtype.NumericOID:
			return Numeric, true
		}
		return nil, false
	}
	if format != pgtype.BinaryFormatCode {
		return nil, false
	}
	switch oid {
	case pgtype.BoolOID: // hashchar
		return fixed(1, func(v []byte) uint32 { return Uint32(uint32(int32(int8(v[0])))) }), true
	case pgtype.Int2OID: // hashint2
		return fixed(2, func(v []byte) uint32 { return Uint32(uint32(int32(int16(binary.BigEndian.Uint16(v))))) }), true
	case pgtype.Int4OID, pgtype.DateOID: // hashint4; a date is an int4 of days since 2000-01-01
		return fixed(4, func(v []byte) uint32 { return Uint32(binary.BigEndian.Uint32(v)) }), true
	case pgtype.Int8OID, pgtype.TimestampOID, pgtype.TimestamptzOID: // hashint8; timestamp_hash is hashint8 of microseconds since 2000
		return fixed(8, func(v []byte) uint32 { return Int8(int64(binary.BigEndian.Uint64(v))) }), true
	case pgtype.Float8OID:
		return fixed(8, func(v []byte) uint32 { return Float8(float64frombits(binary.BigEndian.Uint64(v))) }), true
	case pgtype.Float4OID: // hashfloat4 widens to float8 first
		return fixed(4, func(v []byte) uint32 {
			return Float8(float64(float32frombits(binary.BigEndian.Uint32(v))))
		}), true
	}
	return nil, false
}

// fixed is a column of a fixed-width binary type.
func fixed(n int, h func([]byte) uint32) Column {
	return func(v []byte) (uint32, bool) {
		if len(v) != n {
			return 0, false
		}
		return h(v), true
	}
}

// Record is hash_record over rows of given column types: each column's hash, 0 for a NULL,
// combined as result = result*31 + hash.
type Record []Column

// RecordOf returns the Record of rows with these columns (their types and formats), or false if
// one is not covered (its index is bad).
func RecordOf(fds []pgconn.FieldDescription) (r Record, bad int, ok bool) {
	r = make(Record, len(fds))
	for i, f := range fds {
		c, ok := ColumnOf(f.DataTypeOID, f.Format)
		if !ok {
			return nil, i, false
		}
		r[i] = c
	}
	return r, -1, true
}

// Digest is hash_record(row)::bigint of a row's values (nil for a NULL): the int4 hash,
// sign-extended. ok is false when a value was not of its type's form.
func (r Record) Digest(values [][]byte) (d int64, ok bool) {
	var h uint32
	for i, c := range r {
		var e uint32
		if v := values[i]; v != nil {
			if e, ok = c(v); !ok {
				return 0, false
			}
		}
		h = h<<5 - h + e
	}
	return int64(int32(h)), true
}
