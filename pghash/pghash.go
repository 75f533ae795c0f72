// Package pghash computes, from the values of a row as PostgreSQL sends them, the hash that
// PostgreSQL's own hash_record gives the row: Bob Jenkins' lookup3 as PostgreSQL's hash_bytes
// has it, each column's type's hash support function over it, and hash_record's combination.
//
// Tandem keeps per lead the sum of its rows' hash_record digests, and the hourly
// reconciliation compares those sums with the ones the database computes (SUM of hash_record
// per range of leads). Asking the database for each row's digest as it reads the rows made it
// build a composite tuple of every row only to hash it: at a million leads, a third of the
// cost of reading the five million activities. Computed here from the bytes already on the
// wire, the digests cost the database nothing; the poller checks on a sample of each query's
// rows that its digests equal the database's before it relies on them (a server on a
// big-endian machine, a non-deterministic collation or an encoding other than the wire's would
// hash otherwise), and asks the database for them otherwise.
//
// The hash functions are those of PostgreSQL 11 and later on a little-endian server
// (hashfunc.c, hashfn.c, numeric.c, rowtypes.c); Types lists the column types covered.
package pghash

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Bytes is hash_bytes (hash_any): lookup3's hashlittle, in 32 bits, with PostgreSQL's initial
// value, reading the key as little-endian words.
func Bytes(k []byte) uint32 {
	n := uint32(len(k))
	a := 0x9e3779b9 + n + 3923095
	b, c := a, a
	for len(k) >= 12 {
		a += binary.LittleEndian.Uint32(k)
		b += binary.LittleEndian.Uint32(k[4:])
		c += binary.LittleEndian.Uint32(k[8:])
		a, b, c = mix(a, b, c)
		k = k[12:]
	}
	// The last 11 bytes at most; the lowest byte of c is left for the length (lookup3), so c
	// takes bytes 8-10 shifted by one byte.
	switch len(k) {
	case 11:
		c += uint32(k[10]) << 24
		fallthrough
	case 10:
		c += uint32(k[9]) << 16
		fallthrough
	case 9:
		c += uint32(k[8]) << 8
		fallthrough
	case 8:
		b += binary.LittleEndian.Uint32(k[4:])
		a += binary.LittleEndian.Uint32(k)
	case 7:
		b += uint32(k[6]) << 16
		fallthrough
	case 6:
		b += uint32(k[5]) << 8
		fallthrough
	case 5:
		b += uint32(k[4])
		fallthrough
	case 4:
		a += binary.LittleEndian.Uint32(k)
	case 3:
		a += uint32(k[2]) << 16
		fallthrough
	case 2:
		a += uint32(k[1]) << 8
		fallthrough
	case 1:
		a += uint32(k[0])
	}
	_, _, c = final(a, b, c)
	return c
}

// Uint32 is hash_uint32 (hash_bytes_uint32): Bytes of the value's four bytes, little-endian.
func Uint32(k uint32) uint32 {
	a := uint32(0x9e3779b9 + 4 + 3923095)
	b, c := a, a
	a += k
	_, _, c = final(a, b, c)
	return c
}

func mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func final(a, b, c uint32) (uint32, uint32, uint32) {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return a, b, c
}

// Int8 is hashint8: the value's halves folded so that an int8 hashes as the int4 of the same
// value does (hash joins across integer types), then hash_uint32.
func Int8(v int64) uint32 {
	lo, hi := uint32(v), uint32(v>>32)
	if v >= 0 {
		lo ^= hi
	} else {
		lo ^= ^hi
	}
	return Uint32(lo)
}

// Float8 is hashfloat8: zero and minus zero hash as 0, every NaN as the canonical one, any
// other value by its eight bytes (little-endian).
func Float8(v float64) uint32 {
	if v == 0 {
		return 0
	}
	u := math.Float64bits(v)
	if v != v {
		u = 0x7ff8000000000000 // get_float8_nan(): the C library's NAN
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u)
	return Bytes(b[:])
}

// Numeric is hash_numeric of a numeric in its text form (as PostgreSQL prints it: an optional
// sign, digits, an optional fraction; NaN, Infinity, -Infinity): the hash of its base-10000
// digits, leading and trailing zero digits left out, xor its weight. The sign is not hashed,
// nor the display scale. ok is false for a text that is not such a number.
func Numeric(s []byte) (h uint32, ok bool) {
	switch string(s) {
	case "NaN", "Infinity", "-Infinity":
		return 0, true
	}
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	intPart, frac := s, []byte(nil)
	for i, ch := range s {
		if ch == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if len(intPart) == 0 && len(frac) == 0 {
		return 0, false
	}
	for _, part := range [][]byte{intPart, frac} {
		for _, ch := range part {
			if ch < '0' || ch > '9' {
				return 0, false
			}
		}
	}
	// Base-10000 digits: the integer part grouped by four from the point leftwards, the
	// fraction from the point rightwards (padded with zeros); the weight is the power of 10000
	// of the first.
	var digits []uint16
	lead := (4 - len(intPart)%4) % 4
	weight := (len(intPart)+lead)/4 - 1
	var d, k uint16
	for i := 0; i < lead; i++ {
		d, k = d*10, k+1
	}
	for _, part := range [][]byte{intPart, frac} {
		for _, ch := range part {
			d, k = d*10+uint16(ch-'0'), k+1
			if k == 4 {
				digits, d, k = append(digits, d), 0, 0
			}
		}
	}
	if k > 0 {
		for ; k < 4; k++ {
			d *= 10
		}
		digits = append(digits, d)
	}
	start := 0
	for start < len(digits) && digits[start] == 0 {
		start++
		weight--
	}
	if start == len(digits) {
		return math.MaxUint32, true // zero: hash_numeric's -1
	}
	end := len(digits)
	for digits[end-1] == 0 {
		end--
	}
	b := make([]byte, 0, 2*(end-start))
	for _, d := range digits[start:end] {
		b = binary.LittleEndian.AppendUint16(b, d)
	}
	return Bytes(b) ^ uint32(int32(weight)), true
}

func float64frombits(u uint64) float64 { return math.Float64frombits(u) }
func float32frombits(u uint32) float32 { return math.Float32frombits(u) }
