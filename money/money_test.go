package money

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestParseCents(t *testing.T) {
	cases := []struct {
		in   string
		want Cents
		err  bool
	}{
		{"1234.56", 123456, false},
		{"0.1", 10, false},
		{"-3", -300, false},
		{"12.345", 1235, false},
		{"-12.345", -1235, false},
		{"12.344", 1234, false},
		{"1e3", 100000, false},
		{"abc", 0, true},
		{"", 0, true},
	}
	for _, c := range cases {
		got, err := ParseCents(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseCents(%q) = %v, %v; want %v, err=%v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestFromFloat(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want Cents
	}{{0.1, 10}, {1234.56, 123456}, {19.99, 1999}, {-0.005, -1}} {
		if got, err := FromFloat(c.in); err != nil || got != c.want {
			t.Errorf("FromFloat(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestConvert(t *testing.T) {
	cases := []struct {
		rate string
		in   Cents
		want Cents
	}{
		{"1.08", 10000, 10800},
		{"1.0825", 1, 1}, // 1.0825 cents rounds down
		{"1.5", 1, 2},    // half rounds away from zero
		{"1.5", -1, -2},  // on both sides
		{"0.333333", 300, 100},
		{"1", 123457, 123457},
	}
	for _, c := range cases {
		r, err := ParseRate(c.rate)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Convert(c.in); got != c.want {
			t.Errorf("%s × %v = %v, want %v", c.rate, c.in, got, c.want)
		}
	}
	for _, bad := range []string{"0", "-1", "x"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) should fail", bad)
		}
	}
	if Cents(-1205).String() != "-12.05" || Cents(7).String() != "0.07" {
		t.Error("String formatting wrong")
	}
}

// TestFastPathsMatchExact: the integer paths of ParseCents and Convert give what big.Rat gives,
// on random amounts of every length and number of decimals, signs, roundings at the half cent,
// and random rates (with amounts near where the integer path stops).
func TestFastPathsMatchExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	fast := 0
	for i := range 200000 {
		var b strings.Builder
		switch r.IntN(4) {
		case 0:
			b.WriteByte('-')
		case 1:
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatUint(r.Uint64()>>r.IntN(64), 10))
		if d := r.IntN(6); d > 0 {
			b.WriteByte('.')
			for range d {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		if i%50 == 0 {
			b.WriteString("5") // ends on a half
		}
		s := b.String()
		want, werr := parseCentsExact(s)
		got, ok := parseCentsFast(s)
		if ok {
			fast++
			if werr != nil || got != want {
				t.Fatalf("%q: fast %d, exact %d (%v)", s, got, want, werr)
			}
		}
		if c, err := ParseCents(s); c != want || (err == nil) != (werr == nil) {
			t.Fatalf("ParseCents(%q) = %d, %v; exact %d, %v", s, c, err, want, werr)
		}
	}
	if fast < 100000 {
		t.Errorf("only %d of 200000 amounts took the integer path", fast)
	}
	for _, s := range []string{"", "-", ".5", "5.", "1e3", "1/3", "١٢", "12a", "--1", "99999999999999999999.99"} {
		if _, ok := parseCentsFast(s); ok {
			t.Errorf("parseCentsFast(%q) took it", s)
		}
	}
	for range 2000 {
		rate, err := ParseRate(strconv.FormatFloat(r.Float64()*r.Float64()*200, 'f', r.IntN(9), 64))
		if err != nil {
			continue
		}
		for range 100 {
			c := Cents(int64(r.Uint64()>>1) >> r.IntN(63))
			if r.IntN(2) == 0 {
				c = -c
			}
			if got, want := rate.Convert(c), rate.convertExact(c); got != want {
				t.Fatalf("%s × %d: integer path %d, big.Rat %d", rate, c, got, want)
			}
		}
	}
}

// BenchmarkAmounts: ParseCents and Convert on an opportunity's amount, against their big.Rat
// forms (the baseline) in the same run.
func BenchmarkAmounts(b *testing.B) {
	rate, _ := ParseRate("1.0825")
	b.Run("ParseCents", func(b *testing.B) {
		for range b.N {
			ParseCents("48250.75") //nolint:errcheck // a valid amount
		}
	})
	b.Run("ParseCents/big.Rat", func(b *testing.B) {
		for range b.N {
			parseCentsExact("48250.75") //nolint:errcheck // a valid amount
		}
	})
	b.Run("Convert", func(b *testing.B) {
		for range b.N {
			rate.Convert(4825075)
		}
	})
	b.Run("Convert/big.Rat", func(b *testing.B) {
		for range b.N {
			rate.convertExact(4825075)
		}
	})
}
