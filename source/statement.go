package source

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Statement checks that a query's SQL is one statement, and returns it without a trailing
// semicolon. Tandem runs every query wrapped in a subquery inside its read-only transaction
// (Wrap), which a second statement would escape: "COMMIT; INSERT …; SELECT …" sent as is would
// commit a write and run the rest of the poll outside the poll's snapshot. The scan skips string
// literals ('…', E'…' with backslash escapes), quoted identifiers ("…"), dollar quotes ($tag$…$tag$)
// and comments (-- and nested /* */), as PostgreSQL's lexer does.
func Statement(text string) (string, error) {
	s := strings.TrimSpace(text)
	end := len(s) // where the statement ends: before a trailing ';' and whatever follows it
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				i = len(s)
			} else {
				i += j + 1
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			depth, j := 1, i+2
			for ; j < len(s) && depth > 0; j++ {
				switch {
				case s[j] == '/' && j+1 < len(s) && s[j+1] == '*':
					depth++
					j++
				case s[j] == '*' && j+1 < len(s) && s[j+1] == '/':
					depth--
					j++
				}
			}
			if depth > 0 {
				return "", fmt.Errorf("unterminated /* comment")
			}
			i = j
		case end < len(s) && (c == '\'' || c == '"' || c == '$'):
			return "", errMultiple
		case c == '\'' || c == '"':
			escapes := c == '\'' && i > 0 && (s[i-1] == 'E' || s[i-1] == 'e')
			j := i + 1
			for ; j < len(s); j++ {
				if escapes && s[j] == '\\' {
					j++
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return "", fmt.Errorf("unterminated %c quote", c)
			}
			i = j + 1
		case c == '$':
			tag, ok := dollarTag(s[i:])
			if !ok {
				i++
				continue
			}
			j := strings.Index(s[i+len(tag):], tag)
			if j < 0 {
				return "", fmt.Errorf("unterminated dollar quote %s", tag)
			}
			i += len(tag) + j + len(tag)
		case c == ';':
			if end == len(s) {
				end = i
			}
			i++
		default:
			if end < len(s) && !isSpace(c) {
				return "", errMultiple
			}
			i++
		}
	}
	stmt := strings.TrimSpace(s[:end])
	if stmt == "" {
		return "", fmt.Errorf("is empty")
	}
	return stmt, nil
}

var errMultiple = fmt.Errorf("holds more than one SQL statement: write a single SELECT (Tandem runs it inside its own read-only transaction)")

// dollarTag returns the $tag$ opening a dollar-quoted string at the start of s.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || j > 1 && c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return "", false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// Wrap makes a query a subquery, so that whatever its text the poll runs exactly one SELECT in
// its read-only transaction; the newlines keep a trailing -- comment from swallowing the wrapper.
func Wrap(text, alias string) string {
	return "SELECT * FROM (\n" + text + "\n) AS " + alias
}

// DigestColumn is the column a digested read (Digested) puts in front of a query's own: a hash
// of the row computed by PostgreSQL. The poller keeps per-lead sums of it, which a reconciliation
// compares with the database's (DigestSums) without reading the rows again.
const DigestColumn = "tandem_digest"

// Digested wraps a query (PostgreSQL) so that each row comes with its digest, computed by the
// expression digest (RecordDigest or TextDigest, as DigestProbe chose for the query).
func Digested(text, digest string) string {
	return "SELECT " + digest + " AS " + DigestColumn + ", tandem_r.* FROM (\n" + text + "\n) AS tandem_r"
}

// A row's digest, the row being a query aliased tandem_r. Digested puts it on every row,
// DigestSums sums it, and the two must use the same one for a query.
//
// RecordDigest hashes each column's value with its type's own hash function: three times
// cheaper than hashing the row's text form (at a million leads, the hourly reconciliation's
// 5M activities hash in 0.7 s instead of 2.1 s), because no timestamp or number is formatted.
// A column whose type has no hash function (json) makes it fail; such a query is digested
// by TextDigest, which any row has.
const (
	RecordDigest = "hash_record(tandem_r)::bigint"
	TextDigest   = "hashtext(tandem_r::text)::bigint"
)

// DigestProbe is a query that fails, without reading a row, when RecordDigest cannot digest
// text's rows: it hashes one row of NULLs of the query's row type (PostgreSQL looks up every
// column's hash function even for a NULL).
func DigestProbe(text string) string {
	return "SELECT " + RecordDigest + " FROM (SELECT tandem_q.* FROM (SELECT 1) AS tandem_one LEFT JOIN (SELECT * FROM (\n" +
		text + "\n) AS tandem_p LIMIT 0) AS tandem_q ON true) AS tandem_r"
}

// DigestSample is a Digested read (RecordDigest) of at most n of text's rows: the poller
// compares their digests with those it computes itself (RowDigester) before it relies on its own.
func DigestSample(text string, n int) string {
	return Digested("SELECT * FROM (\n"+text+"\n) AS tandem_s LIMIT "+strconv.Itoa(n), RecordDigest)
}

// ForLeads wraps a query so that it returns only the rows whose column (id, lead_id) is one of
// the ids in its one parameter (LeadsParam): on PostgreSQL through the column's index
// (= ANY($1)), on SQLite through json_each. nulls adds the rows where the column is NULL.
func ForLeads(text, column, driver string, nulls bool) string {
	cond := column + " IN (SELECT value FROM json_each(?))"
	if driver == "postgres" {
		cond = column + " = ANY(?)"
	}
	if nulls {
		cond += " OR " + column + " IS NULL"
	}
	return Wrap(text, "tandem_ids") + " WHERE " + cond
}

// LeadsParam is the parameter of a ForLeads query: the ids as an array literal (PostgreSQL,
// which reads it as an array of the column's type) or a JSON array (SQLite).
func LeadsParam(ids []int64, driver string) any {
	var b strings.Builder
	open, close := "{", "}"
	if driver != "postgres" {
		open, close = "[", "]"
	}
	b.WriteString(open)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteString(close)
	return b.String()
}

// InRange wraps a query so that it returns only the rows whose column is in [lo, hi), either
// end left open by math.MinInt64 and math.MaxInt64; nulls adds the rows where it is NULL. The
// bounds are its parameters, in that order (those not open); "?" placeholders, for Rebind.
func InRange(text, column string, lo, hi int64, nulls bool) (string, []any) {
	var conds []string
	var args []any
	if lo != math.MinInt64 {
		conds, args = append(conds, column+" >= ?"), append(args, lo)
	}
	if hi != math.MaxInt64 {
		conds, args = append(conds, column+" < ?"), append(args, hi)
	}
	cond := strings.Join(conds, " AND ")
	switch {
	case cond == "" && nulls:
		return Wrap(text, "tandem_range"), nil
	case cond == "":
		return Wrap(text, "tandem_range") + " WHERE " + column + " IS NOT NULL", nil
	case nulls:
		cond = "(" + cond + ") OR " + column + " IS NULL"
	}
	return Wrap(text, "tandem_range") + " WHERE " + cond, args
}
