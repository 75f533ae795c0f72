package pghash

import (
	"encoding/binary"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Column hashes one non-NULL value of a column as it arrived on the wire (its type's hash
// support function). It names the hash rather than holding a function: Record.Digest hashes
// every value of a full read (some forty million at a million leads), and a switch on the kind
// cost a third less than two indirect calls a value.
type Column struct{ kind columnKind }

type columnKind uint8

const (
	colText    columnKind = iota + 1 // text, varchar in text format: hashtext of the bytes
	colNumeric                       // numeric in text format
	colBool                          // hashchar
	colInt2                          // hashint2
	colInt4                          // hashint4; a date is an int4 of days since 2000-01-01
	colInt8                          // hashint8; timestamp_hash is hashint8 of microseconds since 2000
	colFloat8
	colFloat4 // hashfloat4 widens to float8 first
)

// ColumnOf returns the hash of a column of type oid (pgtype's OIDs) whose values arrive in
// format (pgtype.TextFormatCode, BinaryFormatCode), or false for a type or format not covered.
func ColumnOf(oid uint32, format int16) (Column, bool) {
	k := columnKind(0)
	switch format {
	case pgtype.TextFormatCode:
		switch oid {
		case pgtype.TextOID, pgtype.VarcharOID: // under a deterministic collation: the bytes
			k = colText
		case pgtype.NumericOID:
			k = colNumeric
		}
	case pgtype.BinaryFormatCode:
		switch oid {
		case pgtype.BoolOID:
			k = colBool
		case pgtype.Int2OID:
			k = colInt2
		case pgtype.Int4OID, pgtype.DateOID:
			k = colInt4
		case pgtype.Int8OID, pgtype.TimestampOID, pgtype.TimestamptzOID:
			k = colInt8
		case pgtype.Float8OID:
			k = colFloat8
		case pgtype.Float4OID:
			k = colFloat4
		}
	}
	return Column{k}, k != 0
}

// Hash is the column's hash of one non-NULL value. ok is false when the value is not of the
// form the type sends: the row's hash is then not PostgreSQL's.
func (c Column) Hash(v []byte) (h uint32, ok bool) {
	switch c.kind {
	case colText:
		return Bytes(v), true
	case colNumeric:
		return Numeric(v)
	case colBool:
		if len(v) == 1 {
			return Uint32(uint32(int32(int8(v[0])))), true
		}
	case colInt2:
		if len(v) == 2 {
			return Uint32(uint32(int32(int16(binary.BigEndian.Uint16(v))))), true
		}
	case colInt4:
		if len(v) == 4 {
			return Uint32(binary.BigEndian.Uint32(v)), true
		}
	case colInt8:
		if len(v) == 8 {
			return Int8(int64(binary.BigEndian.Uint64(v))), true
		}
	case colFloat8:
		if len(v) == 8 {
			return Float8(float64frombits(binary.BigEndian.Uint64(v))), true
		}
	case colFloat4:
		if len(v) == 4 {
			return Float8(float64(float32frombits(binary.BigEndian.Uint32(v)))), true
		}
	}
	return 0, false
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
	values = values[:len(r)]
	for i, c := range r {
		var e uint32
		if v := values[i]; v != nil {
			if e, ok = c.Hash(v); !ok {
				return 0, false
			}
		}
		h = h<<5 - h + e
	}
	return int64(int32(h)), true
}
