package funnel

import "testing"

func TestParseProbability(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Probability
		err  bool
	}{
		{"0", 0, false}, {"1", 10000, false}, {"0.25", 2500, false}, {" 0.075 ", 750, false}, {"0.0001", 1, false},
		{"1.5", 0, true}, {"-0.1", 0, true}, {"NaN", 0, true}, {"50%", 0, true}, {"0.00001", 0, true}, {"", 0, true},
	} {
		got, err := ParseProbability(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseProbability(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestWeigh(t *testing.T) {
	for _, c := range []struct {
		p           Probability
		cents, want int64
	}{
		{5000, 100, 50}, {5000, 1, 1}, {2500, 1, 0}, {3333, 100, 33}, {7500, 12345, 9259}, // 9258.75 → 9259
		{0, 999, 0}, {10000, 999, 999}, {1, 5000, 1}, // 0.5 cent rounds up
	} {
		if got := c.p.Weigh(c.cents); got != c.want {
			t.Errorf("%d bp × %d = %d, want %d", c.p, c.cents, got, c.want)
		}
	}
}

func TestStageProbabilitiesOf(t *testing.T) {
	m := DefaultStageProbabilities()
	m["Custom Stage"] = 4200
	m = m.Normalize()
	for _, c := range []struct {
		stage string
		want  Probability
		ok    bool
	}{
		{"Proposal", 5000, true}, {"  NEGOTIATION ", 8000, true}, {"Negotiation/Review", 9000, true},
		{"custom stage", 4200, true}, {"Mystery", 123, false}, {"", 123, false},
	} {
		if got, ok := m.Of(c.stage, 123); got != c.want || ok != c.ok {
			t.Errorf("Of(%q) = %d, %v; want %d, %v", c.stage, got, ok, c.want, c.ok)
		}
	}
}
