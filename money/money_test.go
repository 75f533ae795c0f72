package money

import "testing"

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
