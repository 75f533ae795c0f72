package collectors

import (
	"bytes"
	"strings"
	"testing"
)

// TestEscapeLabel: the text format's escapes of a label value, with the fast path (needsEscape)
// taken exactly when strings.ContainsAny finds a byte to escape.
func TestEscapeLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"web", "web"},
		{"Acme \"Inc\"", `Acme \"Inc\"`},
		{`C:\dir`, `C:\\dir`},
		{"two\nlines", `two\nlines`},
		{"é\\\"\n", `é\\\"\n`},
		{"tab\there", "tab\there"},
	} {
		var buf bytes.Buffer
		escapeLabel(&buf, c.in)
		if buf.String() != c.want {
			t.Errorf("escapeLabel(%q) = %q, want %q", c.in, buf.String(), c.want)
		}
		if got, want := needsEscape(c.in), strings.ContainsAny(c.in, "\\\"\n"); got != want {
			t.Errorf("needsEscape(%q) = %v, want %v", c.in, got, want)
		}
	}
}

// BenchmarkNeedsEscape: the check every label value of /metrics goes through, against
// strings.ContainsAny in the same run.
func BenchmarkNeedsEscape(b *testing.B) {
	values := []string{"paid_search", "north_america", "enterprise", "this_quarter", "0.9", "webinar", "Acme Corp"}
	b.Run("loop", func(b *testing.B) {
		for b.Loop() {
			for _, v := range values {
				needsEscape(v)
			}
		}
	})
	b.Run("ContainsAny", func(b *testing.B) {
		for b.Loop() {
			for _, v := range values {
				strings.ContainsAny(v, "\\\"\n")
			}
		}
	})
}
