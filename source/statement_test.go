package source

import (
	"strings"
	"testing"
)

func TestStatement(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "SELECT 1", want: "SELECT 1"},
		{in: "  SELECT 1 ;  \n", want: "SELECT 1"},
		{in: "SELECT 1; -- done\n/* really */", want: "SELECT 1"},
		{in: "SELECT ';' AS a, \"x;y\" FROM t", want: "SELECT ';' AS a, \"x;y\" FROM t"},
		{in: "SELECT 'it''s; fine'", want: "SELECT 'it''s; fine'"},
		{in: `SELECT E'back\'slash; ok'`, want: `SELECT E'back\'slash; ok'`},
		{in: "SELECT $$a;b$$, $tag$c;$$d$tag$", want: "SELECT $$a;b$$, $tag$c;$$d$tag$"},
		{in: "SELECT 1 -- trailing; comment", want: "SELECT 1 -- trailing; comment"},
		{in: "SELECT /* a /* nested; */ b */ 1", want: "SELECT /* a /* nested; */ b */ 1"},
		{in: "SELECT x FROM t WHERE y = $1", want: "SELECT x FROM t WHERE y = $1"},
		{in: "COMMIT; INSERT INTO t VALUES (1); SELECT 1", err: "more than one SQL statement"},
		{in: "SELECT 1; SELECT 2", err: "more than one SQL statement"},
		{in: "SELECT 1; 'x'", err: "more than one SQL statement"},
		{in: "SELECT 1;;$$x$$", err: "more than one SQL statement"},
		{in: "SELECT 'open", err: "unterminated"},
		{in: "SELECT $q$open", err: "unterminated"},
		{in: "SELECT /* open", err: "unterminated"},
		{in: " ; ", err: "empty"},
	} {
		got, err := Statement(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Statement(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("Statement(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in      string
		cut     bool
		outLen  int // characters
		outTail string
	}{
		{strings.Repeat("a", 100), false, 100, "a"},
		{strings.Repeat("é", 100), false, 100, "é"},
		{strings.Repeat("a", 101), true, 100, TruncatedMark},
		{strings.Repeat("日", 5000), true, 100, TruncatedMark},
		{"short", false, 5, "t"},
	} {
		got, cut := truncate(c.in)
		if cut != c.cut || len([]rune(got)) != c.outLen || !strings.HasSuffix(got, c.outTail) {
			t.Errorf("truncate(%d chars) = %d chars, cut %v; want %d, cut %v", len([]rune(c.in)), len([]rune(got)), cut, c.outLen, c.cut)
		}
	}
}
