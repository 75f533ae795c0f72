package attribution

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func days(d ...float64) []time.Time {
	out := make([]time.Time, len(d))
	for i, x := range d {
		out[i] = t0.Add(time.Duration(x * 24 * float64(time.Hour)))
	}
	return out
}

func at(d float64) time.Time { return t0.Add(time.Duration(d * 24 * float64(time.Hour))) }

func TestWeights(t *testing.T) {
	week := 7 * 24 * time.Hour
	cases := []struct {
		name    string
		model   Model
		touches []time.Time
		deal    Deal
		want    []float64
	}{
		{"first", FirstTouch, days(0, 1, 2), Deal{Won: at(3)}, []float64{1, 0, 0}},
		{"last", LastTouch, days(0, 1, 2), Deal{Won: at(3)}, []float64{0, 0, 1}},
		{"linear", Linear, days(0, 1, 2, 3), Deal{Won: at(4)}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"one touch gets everything (U)", UShaped, days(0), Deal{LeadCreated: at(1), Won: at(3)}, []float64{1}},
		{"one touch gets everything (W)", WShaped, days(0), Deal{LeadCreated: at(1), OppCreated: at(2), Won: at(3)}, []float64{1}},
		{"one touch gets everything (decay)", TimeDecay, days(0), Deal{Won: at(3), HalfLife: week}, []float64{1}},
		// U: first 0, lead creation at day 3 → touch index 2 (day 2.5); between: index 1.
		{"U-shaped with a middle touch; after-creation touches get nothing", UShaped, days(0, 1, 2.5, 4),
			Deal{LeadCreated: at(3), Won: at(5)}, []float64{0.4, 0.2, 0.4, 0}},
		{"U-shaped, two touches: 50/50", UShaped, days(0, 1), Deal{LeadCreated: at(1), Won: at(2)}, []float64{0.5, 0.5}},
		{"U-shaped, lead created before any touch: all on the first", UShaped, days(2, 3), Deal{LeadCreated: at(1), Won: at(4)}, []float64{1, 0}},
		{"U-shaped, middle share split over several", UShaped, days(0, 1, 2, 3), Deal{LeadCreated: at(3), Won: at(4)}, []float64{0.4, 0.1, 0.1, 0.4}},
		// W: first 0, lead creation index 1, opp creation index 3, rest: 2 and 4.
		{"W-shaped, three distinct milestones and two others", WShaped, days(0, 1, 2, 3, 4),
			Deal{LeadCreated: at(1.5), OppCreated: at(3.5), Won: at(5)}, []float64{0.3, 0.3, 0.05, 0.3, 0.05}},
		{"W-shaped, lead and opportunity on one touch merge", WShaped, days(0, 1, 5),
			Deal{LeadCreated: at(2), OppCreated: at(3), Won: at(6)}, []float64{0.3, 0.6, 0.1}},
		{"W-shaped, only milestones: rest split over them", WShaped, days(0, 1, 2),
			Deal{LeadCreated: at(1), OppCreated: at(2), Won: at(3)}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{"W-shaped, all milestones on the first touch", WShaped, days(5, 6),
			Deal{LeadCreated: at(1), OppCreated: at(2), Won: at(7)}, []float64{0.9, 0.1}},
		{"time decay halves per half-life", TimeDecay, days(0, 7), Deal{Won: at(7), HalfLife: week}, []float64{1.0 / 3, 2.0 / 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Weights(c.model, c.touches, c.deal)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-12 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
	if w, _ := Weights(Linear, nil, Deal{}); w != nil {
		t.Error("no touches: nothing attributed")
	}
	if _, err := Weights(TimeDecay, days(0), Deal{}); err == nil {
		t.Error("time decay without half-life accepted")
	}
}

func TestEligibleIgnoresTouchesAfterTheWin(t *testing.T) {
	if n := Eligible(days(0, 1, 2, 3), at(2)); n != 3 {
		t.Fatalf("Eligible = %d, want 3 (the touch at the win counts, the one after does not)", n)
	}
}

// Conservation: under every model the weights of any touch history sum to 1.
func TestWeightsSumToOne(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5000; i++ {
		n := 1 + r.IntN(8)
		ts := make([]time.Time, n)
		for k := range ts {
			ts[k] = at(r.Float64() * 60)
		}
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		d := Deal{LeadCreated: at(r.Float64() * 60), OppCreated: at(r.Float64() * 60), Won: at(61), HalfLife: 7 * 24 * time.Hour}
		for _, m := range Models {
			w, err := Weights(m, ts, d)
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			for _, x := range w {
				if x < 0 {
					t.Fatalf("%s: negative weight %v", m, w)
				}
				sum += x
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("%s: weights %v sum to %v", m, w, sum)
			}
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		cents   int64
		weights []float64
		want    []int64
	}{
		{100, []float64{1}, []int64{100}},
		{100, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, []int64{34, 33, 33}},
		{5, []float64{0.4, 0.4, 0.2}, []int64{2, 2, 1}},
		{1, []float64{0.5, 0.5}, []int64{1, 0}},
		{1139699999, []float64{0.3, 0.3, 0.3, 0.05, 0.05}, []int64{341910000, 341910000, 341909999, 56985000, 56985000}},
		{0, []float64{0.5, 0.5}, []int64{0, 0}},
	}
	for _, c := range cases {
		got := Split(c.cents, c.weights)
		sum := int64(0)
		for _, g := range got {
			sum += g
		}
		if sum != c.cents {
			t.Errorf("Split(%d, %v) = %v adds up to %d", c.cents, c.weights, got, sum)
		}
		for i := range c.want {
			if got[i] != c.want[i] {
				t.Errorf("Split(%d, %v) = %v, want %v", c.cents, c.weights, got, c.want)
				break
			}
		}
	}
}
