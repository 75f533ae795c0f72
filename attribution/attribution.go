// Package attribution spreads a won deal's revenue over the marketing touches of its lead, under
// the six standard models. It is pure: touch times and milestones in, weights out. Rules states
// every rule and edge case; docs/metrics.md prints it.
package attribution

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// Rules is the exact definition of every model and edge case.
const Rules = `For a won deal, the touches t1 < t2 < … < tn of its lead at or before the win count (touches
after the win are ignored; touches at the same instant keep their database order):

- **first_touch**: 100% to t1.
- **last_touch**: 100% to tn, the last touch before the win.
- **linear**: 1/n to each.
- **u_shaped**: 40% to the first touch, 40% to the lead-creation touch (the last touch at or before
  the lead was created), 20% split equally over the touches strictly between them; touches after
  the lead-creation touch get nothing.
- **w_shaped**: 30% first, 30% lead creation, 30% opportunity creation (the last touch at or before
  the opportunity was created), 10% split equally over all other touches.
- **time_decay**: weight 2^(−age / half-life), age = win − touch time, normalised to 100%
  (attribution.time_decay_half_life, default 7 days).

Edge cases: a milestone with no touch at or before its moment falls on the first touch; milestones
on the same touch merge their shares; when no touch is left for the middle share (U: none between;
W: no other touch) it is split equally over the distinct milestone touches; one touch gets 100%
under every model; a deal without touches (or without a lead) goes to the unattributed bucket
(channel = campaign = "unattributed"). So, per model, attributed plus unattributed revenue equals
won revenue. Each deal's amount is split in whole cents (Split): every touch gets the cents its
weight gives, rounded down, and the cents left go one each to the touches with the largest
remainders (the earlier touch on a tie). So every published sum is exact to the cent, and per
model attributed plus unattributed revenue equals won revenue.`

// Model is an attribution model; its name is the value of the model label.
type Model string

const (
	FirstTouch Model = "first_touch"
	LastTouch  Model = "last_touch"
	Linear     Model = "linear"
	UShaped    Model = "u_shaped"
	WShaped    Model = "w_shaped"
	TimeDecay  Model = "time_decay"
)

// Models lists every model.
var Models = []Model{FirstTouch, LastTouch, Linear, UShaped, WShaped, TimeDecay}

// Deal is what the models need to know about a won deal.
type Deal struct {
	LeadCreated time.Time
	OppCreated  time.Time
	Won         time.Time
	HalfLife    time.Duration // for time decay
}

// Eligible returns the number of leading touches (of a time-sorted slice) at or before the win.
func Eligible(touches []time.Time, won time.Time) int {
	n := 0
	for n < len(touches) && !touches[n].After(won) {
		n++
	}
	return n
}

// Weights returns one weight per touch of a time-sorted slice of touches at or before the win
// (use Eligible to cut the slice). It returns nil for no touches.
func Weights(m Model, touches []time.Time, d Deal) ([]float64, error) {
	if len(touches) == 0 {
		return nil, nil
	}
	return AppendWeights(nil, m, touches, d)
}

// AppendWeights is Weights appending the weights to dst: a tally attributes every won deal under
// every model, and a slice made for each was a tenth of a cold start's allocations.
func AppendWeights(dst []float64, m Model, touches []time.Time, d Deal) ([]float64, error) {
	n := len(touches)
	if n == 0 {
		return dst, nil
	}
	start := len(dst)
	dst = append(dst, make([]float64, n)...)
	w := dst[start:]
	switch m {
	case FirstTouch:
		w[0] = 1
	case LastTouch:
		w[n-1] = 1
	case Linear:
		for i := range w {
			w[i] = 1 / float64(n)
		}
	case UShaped:
		first, lead := 0, milestone(touches, d.LeadCreated)
		positional(w, []int{first, lead}, []float64{0.4, 0.4}, 0.2, func(i int) bool { return i > first && i < lead })
	case WShaped:
		lead, opp := milestone(touches, d.LeadCreated), milestone(touches, d.OppCreated)
		positional(w, []int{0, lead, opp}, []float64{0.3, 0.3, 0.3}, 0.1, func(int) bool { return true })
	case TimeDecay:
		if d.HalfLife <= 0 {
			return dst[:start], fmt.Errorf("time decay needs a positive half-life")
		}
		total := 0.0
		for i, t := range touches {
			age := d.Won.Sub(t)
			w[i] = math.Exp2(-age.Seconds() / d.HalfLife.Seconds())
			total += w[i]
		}
		for i := range w {
			w[i] /= total
		}
	default:
		return dst[:start], fmt.Errorf("unknown attribution model %q", m)
	}
	return dst, nil
}

// milestone is the index of the last touch at or before t, or the first touch if none is.
func milestone(touches []time.Time, t time.Time) int {
	idx := 0
	for i, tt := range touches {
		if !tt.After(t) {
			idx = i
		}
	}
	return idx
}

// positional gives each milestone its share (merging coinciding ones), then the rest share to
// the non-milestone touches that inRest accepts, or, if there are none, equally to the distinct
// milestones. There are three milestones at most: they are looked through, not put in a map.
func positional(w []float64, milestones []int, shares []float64, rest float64, inRest func(int) bool) {
	var distinct [3]int
	nd := 0
	isMilestone := func(i int) bool { return slices.Contains(distinct[:nd], i) }
	for k, i := range milestones {
		w[i] += shares[k]
		if !isMilestone(i) {
			distinct[nd] = i
			nd++
		}
	}
	others := 0
	for i := range w {
		if !isMilestone(i) && inRest(i) {
			others++
		}
	}
	if others == 0 {
		for _, i := range distinct[:nd] {
			w[i] += rest / float64(nd)
		}
		return
	}
	for i := range w {
		if !isMilestone(i) && inRest(i) {
			w[i] += rest / float64(others)
		}
	}
}

// Split divides cents over the weights (summing to 1) in whole cents: floor(cents × w) each, then
// one more cent to each of the largest remainders, earlier weights first on a tie, until the
// parts add up to cents exactly.
func Split(cents int64, weights []float64) []int64 {
	return AppendSplit(make([]int64, 0, len(weights)), cents, weights)
}

// AppendSplit is Split appending the parts to dst.
func AppendSplit(dst []int64, cents int64, weights []float64) []int64 {
	if len(weights) == 0 {
		return dst
	}
	start := len(dst)
	dst = append(dst, make([]int64, len(weights))...)
	out := dst[start:]
	type rem struct {
		i    int
		frac float64
	}
	var buf [16]rem // most deals have a few touches: no allocation for them
	rems := buf[:0]
	left := cents
	for i, w := range weights {
		x := float64(cents) * w
		out[i] = int64(math.Floor(x))
		rems = append(rems, rem{i, x - math.Floor(x)})
		left -= out[i]
	}
	// Largest remainder first; stable, so the earlier touch first on a tie.
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.frac, a.frac) })
	for k := 0; left > 0; k = (k + 1) % len(rems) {
		out[rems[k].i]++
		left--
	}
	for k := len(rems) - 1; left < 0; k = (k - 1 + len(rems)) % len(rems) {
		out[rems[k].i]-- // weights summing to a hair over 1
		left++
	}
	return dst
}
