package source

import (
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unique"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandem-oss/tandem/money"
)

// Data-quality checks reported while decoding rows (values of the check label).
const (
	CheckNullRequired = "null_required"         // a required column is NULL: row skipped
	CheckBadValue     = "bad_value"             // a value has the wrong type or format: row skipped
	CheckValueTooLong = "value_too_long"        // a text value over MaxTextLength characters: cut, row kept
	CheckPlaceholder  = "placeholder_timestamp" // an optional timestamp of year 1: read as NULL, row kept
)

// MaxTextLength caps every text value read (in characters): each may become a label value, and a
// megabyte-long reason or channel would otherwise swell /metrics and memory for as long as the
// row lives. A longer value keeps its first MaxTextLength-1 characters and ends in TruncatedMark.
const (
	MaxTextLength = 100
	TruncatedMark = "…"
)

// truncate cuts a value longer than MaxTextLength characters; ok reports whether it did.
func truncate(v string) (string, bool) {
	if len(v) <= MaxTextLength { // bytes ≥ characters: short enough either way
		return v, false
	}
	n := 0
	for i := range v {
		if n == MaxTextLength-1 {
			if utf8.RuneCountInString(v[i:]) <= 1 {
				return v, false // exactly MaxTextLength characters
			}
			return v[:i] + TruncatedMark, true
		}
		n++
	}
	return v, false
}

// RowError is why one row was skipped.
type RowError struct {
	Check  string
	Column string
	Err    error
	// Form is the rejected value's shape with its content masked (digits as 9, letters as a or
	// A, the rest kept, cut to 40 characters): "31-12-2026" is "99-99-9999". It says what the
	// column holds without printing data that may be personal.
	Form string
}

// FormOf masks a value into its shape (RowError.Form).
func FormOf(v any) string {
	s := fmt.Sprint(v)
	var b strings.Builder
	for i, c := range s {
		if i >= 40 {
			b.WriteString("…")
			break
		}
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte('9')
		case unicode.IsUpper(c):
			b.WriteByte('A')
		case unicode.IsLetter(c):
			b.WriteByte('a')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// AcceptedTimeForms lists the text forms a timestamp column may hold (besides native timestamp
// types and epoch seconds), for error messages.
const AcceptedTimeForms = "RFC 3339 (2026-12-31T23:59:59Z, with fractions or an offset), 2026-12-31 23:59:59[.fraction][±07[:00]], 2026-12-31, or epoch seconds"

func (e *RowError) Error() string {
	if e.Form != "" {
		return fmt.Sprintf("%s: column %s holds values like %q: %v", e.Check, e.Column, e.Form, e.Err)
	}
	return fmt.Sprintf("%s: column %s: %v", e.Check, e.Column, e.Err)
}

// ColumnError is a query whose result columns do not match the canonical ones: a configuration
// error, reported at start-up by --config.check and as a query error while running.
type ColumnError struct {
	Query   string
	Missing []string
	Extra   []string
}

func (e *ColumnError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing column(s) "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "unexpected column(s) "+strings.Join(e.Extra, ", "))
	}
	return fmt.Sprintf("query %s returns the wrong columns: %s", e.Query, strings.Join(parts, "; "))
}

// CheckColumns matches a result's column names (case-insensitively: PostgreSQL folds unquoted
// names) against the query's canonical columns and returns, for each canonical column, its index
// in the result.
func CheckColumns(q Query, got []string) ([]int, error) {
	pos := make(map[string]int, len(got))
	for i, c := range got {
		pos[strings.ToLower(c)] = i
	}
	idx := make([]int, len(q.Columns))
	var missing []string
	want := make(map[string]bool, len(q.Columns))
	for i, c := range q.Columns {
		want[c.Name] = true
		p, ok := pos[c.Name]
		if !ok {
			idx[i] = -1
			if !c.Optional() {
				missing = append(missing, c.Name)
			}
			continue
		}
		idx[i] = p
	}
	var extra []string
	for _, c := range got {
		if !want[strings.ToLower(c)] {
			extra = append(extra, c)
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		return nil, &ColumnError{Query: q.Name, Missing: missing, Extra: extra}
	}
	return idx, nil
}

// cell receives one value of a row; decoding happens after the scan, so one bad value costs one
// row, not the whole query. The common kinds (integers, timestamps, text) are kept unboxed: at a
// million leads a cold start scans 9M rows, and an interface per value was an allocation per
// value. Through database/sql a cell is a Scanner; read natively (NativeQuerier), pgx hands it
// each value through its typed scanner interfaces (ScanInt64, ScanTimestamptz, ScanBytes...)
// without converting it to a driver.Value first.
type cell struct {
	kind cellKind
	i    int64
	t    time.Time
	s    string
	v    any       // cellOther: anything else (float64, bool, a driver's own types)
	text *interner // shares repeated short text values (nil: each is copied)
	// shared: s is the one copy of its value (interner), short enough never to be cut
	shared bool
}

type cellKind uint8

const (
	cellNull cellKind = iota
	cellInt
	cellTime
	cellText
	cellOther
)

// value is the cell's value as database/sql would give it (nil for NULL): boxed, for the paths
// that are not hot (errors, identities, the rarer kinds).
func (c *cell) value() any {
	switch c.kind {
	case cellInt:
		return c.i
	case cellTime:
		return c.t
	case cellText:
		return c.s
	case cellOther:
		return c.v
	}
	return nil
}

func (c *cell) set(v any) {
	switch v := v.(type) {
	case nil:
		c.kind = cellNull
	case int64:
		c.kind, c.i = cellInt, v
	case time.Time:
		c.kind, c.t = cellTime, v
	case string:
		c.kind = cellText
		c.s, c.shared = c.text.str(v)
	case []byte:
		c.kind = cellText
		c.s, c.shared = c.text.of(v) // the driver reuses the buffer
	default:
		c.kind, c.v = cellOther, v
	}
}

// Scan is database/sql's Scanner.
func (c *cell) Scan(v any) error {
	c.set(v)
	return nil
}

// The pgx scanner interfaces (pgtype.Int64Scanner and the others), for native reads. Each kind
// ends as database/sql through pgx's stdlib would give it, so both paths decode alike.

func (c *cell) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		c.kind = cellNull
		return nil
	}
	c.kind, c.i = cellInt, v.Int64
	return nil
}

// Floats and booleans are rare in a CRM's rows and kept boxed, as database/sql gives them.
func (c *cell) ScanFloat64(v pgtype.Float8) error { return c.scanValue(v.Value()) }
func (c *cell) ScanBool(v pgtype.Bool) error      { return c.scanValue(v.Value()) }

// The time kinds: a finite value unboxed, NULL and ±infinity (text) as their driver value.
func (c *cell) ScanTimestamptz(v pgtype.Timestamptz) error {
	if c.setTime(v.Valid, v.InfinityModifier, v.Time) {
		return nil
	}
	return c.scanValue(v.Value())
}

func (c *cell) ScanTimestamp(v pgtype.Timestamp) error {
	if c.setTime(v.Valid, v.InfinityModifier, v.Time) {
		return nil
	}
	return c.scanValue(v.Value())
}

func (c *cell) ScanDate(v pgtype.Date) error {
	if c.setTime(v.Valid, v.InfinityModifier, v.Time) {
		return nil
	}
	return c.scanValue(v.Value())
}

// setTime keeps a finite time and reports whether it did.
func (c *cell) setTime(valid bool, inf pgtype.InfinityModifier, t time.Time) bool {
	if !valid || inf != pgtype.Finite {
		return false
	}
	c.kind, c.t = cellTime, t
	return true
}

// scanValue keeps a value as its driver value: the rarer cases.
func (c *cell) scanValue(v driver.Value, err error) error {
	if err != nil {
		return err
	}
	c.set(v)
	return nil
}

// ScanNumeric keeps a numeric as its exact text, as pgx's stdlib gives it (an amount is parsed
// into cents from it, never through a float).
func (c *cell) ScanNumeric(v pgtype.Numeric) error {
	dv, err := v.Value()
	if s, ok := dv.(string); ok && err == nil {
		c.numericText(s)
		return nil
	}
	return c.scanValue(dv, err)
}

// numericText keeps a numeric's text: an amount, not a label, never shared.
func (c *cell) numericText(s string) { c.kind, c.s, c.shared = cellText, s, false }

// ScanBytes receives text (and bytea) values in the driver's buffer, valid until the next row.
func (c *cell) ScanBytes(v []byte) error {
	if v == nil {
		c.kind = cellNull
		return nil
	}
	c.kind = cellText
	c.s, c.shared = c.text.of(v)
	return nil
}

// interner shares the text values of one read: the text columns are labels (source, region,
// status, kind...), a handful of values repeated over millions of rows, and copying each out of
// the driver's buffer was an allocation per value. A value is made unique (package unique) the
// first time a read meets it, so the tallies keep one copy of it however many reads brought it.
// Values longer than internMax, and any past internCap distinct ones (ids read as text, free
// text), are copied as they come, and shared by record.string if they are labels.
type interner struct {
	m map[string]string
	// recent holds the last value interned in each of a few slots, by a cheap hash of its
	// bytes: a read's label columns repeat a handful of values, and comparing the bytes with
	// the slot's value costs less than the map's lookup (at a million leads, 13M values and
	// 0.23 s of a cold start in the map).
	recent [32]string
}

const (
	internMax = 64
	internCap = 4096
)

// slot is the recent slot of a value: its length and first and last bytes.
func slot[T string | []byte](b T) int {
	if len(b) == 0 {
		return 0
	}
	return (len(b) ^ int(b[0]) ^ int(b[len(b)-1])<<2) & 31
}

func (in *interner) of(b []byte) (string, bool) {
	if in == nil || len(b) > internMax {
		return string(b), false
	}
	k := slot(b)
	if s := in.recent[k]; s == string(b) && (s != "" || len(b) == 0) {
		return s, true
	}
	if s, ok := in.m[string(b)]; ok { // no allocation: the map is looked up with b in place
		in.recent[k] = s
		return s, true
	}
	return in.add(string(b))
}

func (in *interner) str(s string) (string, bool) {
	if in == nil || len(s) > internMax {
		return s, false
	}
	if u, ok := in.m[s]; ok {
		return u, true
	}
	return in.add(s)
}

func (in *interner) add(s string) (string, bool) {
	if len(in.m) >= internCap {
		return s, false
	}
	if in.m == nil {
		in.m = map[string]string{}
	}
	u := unique.Make(s).Value()
	in.m[u] = u
	in.recent[slot(u)] = u
	return u, true
}

// record is one scanned row addressed by canonical column position.
type record struct {
	q     *Query
	cells []cell
	idx   []int
	err   *RowError
	long  bool // a text value was cut to MaxTextLength
	// placeholder: an optional timestamp was year 1, read as NULL
	placeholder bool
	digest      int64 // the row's digest (DigestColumn)
	text        bool  // a lead's id (id of a lead, lead_id) was text (textID)
}

func (r *record) value(i int) any {
	if r.idx[i] < 0 {
		return nil // an optional column the query does not return
	}
	return r.cells[r.idx[i]].value()
}

// cell is column i's cell; nil for an optional column the query does not return.
func (r *record) cell(i int) *cell {
	if r.idx[i] < 0 {
		return nil
	}
	return &r.cells[r.idx[i]]
}

// identity is a skipped row's id, decoded as a good row's would be, or a hash of its cells.
func (r *record) identity() any {
	for i, c := range r.q.Columns {
		if c.Name != "id" || r.value(i) == nil {
			continue
		}
		probe := record{q: r.q, cells: r.cells, idx: r.idx}
		if id := probe.int64(i); probe.err == nil {
			return id
		}
	}
	return RowHash(cellsHash(r.cells))
}

// lead is the lead a row belongs to (its id in the leads query, its lead_id elsewhere), when that
// column decodes.
func (r *record) lead() (int64, bool) {
	col := "lead_id"
	if r.q.Name == QueryLeads {
		col = "id"
	}
	for i, c := range r.q.Columns {
		if c.Name != col || r.value(i) == nil {
			continue
		}
		probe := record{q: r.q, cells: r.cells, idx: r.idx}
		if id := probe.int64(i); probe.err == nil {
			return id, true
		}
	}
	return 0, false
}

func (r *record) fail(check string, i int, err error) {
	if r.err == nil {
		r.err = &RowError{Check: check, Column: r.q.Columns[i].Name, Err: err}
		if check == CheckBadValue {
			r.err.Form = FormOf(r.value(i))
		}
	}
}

func (r *record) null(i int) bool {
	if c := r.cell(i); c == nil || c.kind == cellNull {
		if r.q.Columns[i].Required {
			r.fail(CheckNullRequired, i, fmt.Errorf("is NULL"))
		}
		return true
	}
	return false
}

func (r *record) int64(i int) int64 {
	if r.null(i) {
		return 0
	}
	if c := r.cell(i); c.kind == cellInt {
		return c.i
	}
	switch v := r.value(i).(type) {
	case int64:
		return v
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	case string:
		v = strings.TrimSpace(v)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		if name := r.q.Columns[i].Name; name == "id" || strings.HasSuffix(name, "_id") {
			if v == "" {
				return 0
			}
			if name == "lead_id" || name == "id" && r.q.Name == QueryLeads {
				r.text = true // a lead's id
			}
			return textID(v)
		}
	}
	r.fail(CheckBadValue, i, fmt.Errorf("not an integer"))
	return 0
}

// textID maps a text id (Salesforce's 18-character ids, UUIDs) to a negative 64-bit number, so it
// never equals a numeric id. Ids only join rows within one poll, so a stable hash is enough; a
// collision, astronomically unlikely at CRM sizes, would show as a duplicate_id data-quality row.
func textID(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s)) //nolint:errcheck // never fails
	return int64(h.Sum64() | 1<<63)
}

func (r *record) string(i int) string {
	if r.null(i) {
		return ""
	}
	if c := r.cell(i); c.kind == cellText && c.shared {
		return c.s // unique already (interner.add), and short enough to keep whole
	}
	switch v := r.value(i).(type) {
	case string:
		// The text columns are labels (source, region, status, kind, stage, currency...): a
		// handful of values repeated over millions of rows, kept for as long as the mirror holds
		// the row. One shared copy of each is enough.
		if cut, ok := truncate(v); ok {
			v, r.long = cut, true
		}
		return unique.Make(v).Value()
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	r.fail(CheckBadValue, i, fmt.Errorf("not text: %T", r.value(i)))
	return ""
}

func (r *record) bool(i int) bool {
	if r.null(i) {
		return false
	}
	switch v := r.value(i).(type) {
	case bool:
		return v
	case int64:
		if v == 0 || v == 1 {
			return v == 1
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "t", "true", "1", "y", "yes":
			return true
		case "f", "false", "0", "n", "no":
			return false
		}
	}
	r.fail(CheckBadValue, i, fmt.Errorf("not a boolean (true/false, t/f, yes/no, 1/0)"))
	return false
}

// timeLayouts are the text forms drivers hand back: SQLite stores text, and synced CRMs keep
// ISO 8601 strings in text columns more often than one would hope.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999-07",        // PostgreSQL's text form of a timestamptz at a whole-hour offset
	"2006-01-02 15:04:05.999999999 -0700 MST", // Go's time.String, as some drivers store it
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func (r *record) time(i int) time.Time {
	if r.null(i) {
		return time.Time{}
	}
	var t time.Time
	ok := true
	if c := r.cell(i); c.kind == cellTime {
		t = c.t
	} else {
		t, ok = parseTime(r.value(i))
	}
	if ok && t.IsZero() && !r.q.Columns[i].Required {
		r.placeholder = true
	}
	if !ok || (t.IsZero() && r.q.Columns[i].Required) {
		// Year 1 ("0001-01-01") is what broken syncs write for "no date": not a real timestamp.
		r.fail(CheckBadValue, i, fmt.Errorf("not a timestamp (accepted: %s)", AcceptedTimeForms))
		return time.Time{}
	}
	// In UTC, decoded rows compare with == (the poller's reconciliation relies on it); the
	// domain code converts to the time zones it needs.
	return t.UTC()
}

func parseTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case int64:
		return time.Unix(v, 0).UTC(), true // epoch seconds
	case string:
		s := strings.TrimSpace(v)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func (r *record) cents(i int) money.Cents {
	if r.null(i) {
		return 0
	}
	var (
		c   money.Cents
		err error
	)
	switch v := r.value(i).(type) {
	case string:
		c, err = money.ParseCents(v)
	case float64:
		c, err = money.FromFloat(v)
	case int64:
		c = money.Cents(v * 100)
	default:
		err = fmt.Errorf("not an amount: %T", v)
	}
	if err != nil {
		r.fail(CheckBadValue, i, err)
	}
	return c
}

// Decoders turn a record into a struct; the column order is that of the Query's Columns.

func decodeOwner(r *record) Owner {
	return Owner{ID: r.int64(0), Name: r.string(1), SalesTeam: r.string(2), Region: r.string(3)}
}

func decodeLead(r *record) Lead {
	return Lead{
		ID: r.int64(0), CreatedAt: r.time(1), UpdatedAt: r.time(2), Source: r.string(3), Region: r.string(4),
		Segment: r.string(5), OwnerID: r.int64(6), Status: r.string(7), MQLAt: r.time(8), SQLAt: r.time(9),
		DisqualifiedAt: r.time(10), DisqualifiedReason: r.string(11), Digest: r.digest,
	}
}

func decodeActivity(r *record) Activity {
	return Activity{ID: r.int64(0), LeadID: r.int64(1), Kind: r.string(2), OccurredAt: r.time(3), UpdatedAt: r.time(4), Digest: r.digest}
}

func decodeOpportunity(r *record) Opportunity {
	return Opportunity{
		ID: r.int64(0), LeadID: r.int64(1), Amount: r.cents(2), Currency: r.string(3), Stage: r.string(4),
		CreatedAt: r.time(5), ExpectedClose: r.time(6), ClosedAt: r.time(7), IsClosed: r.bool(8), IsWon: r.bool(9),
		UpdatedAt: r.time(10), Digest: r.digest,
	}
}

func decodeCampaign(r *record) Campaign {
	return Campaign{ID: r.int64(0), Name: r.string(1), Channel: r.string(2), Currency: r.string(3), UpdatedAt: r.time(4)}
}

func decodeCampaignStat(r *record) CampaignStat {
	return CampaignStat{CampaignID: r.int64(0), Day: r.time(1), Spend: r.cents(2), Impressions: r.int64(3), Clicks: r.int64(4), UpdatedAt: r.time(5)}
}

func decodeTouchpoint(r *record) Touchpoint {
	return Touchpoint{ID: r.int64(0), LeadID: r.int64(1), CampaignID: r.int64(2), Kind: r.string(3), OccurredAt: r.time(4), UpdatedAt: r.time(5), Digest: r.digest}
}
