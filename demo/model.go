// Package demo generates realistic, deterministic CRM and campaign data for the reference schema:
// channels that differ in volume and lead quality, reps who follow up fast or late, deals won and
// lost, marketing touches before and after each milestone, and a few dirty rows for the
// data-quality checks. The same seed and the same "now" always give the same rows.
package demo

import (
	"math"
	"math/rand/v2"
	"time"
)

// channel is a marketing channel with its volume and quality.
type channel struct {
	name        string
	weight      float64 // share of leads
	mql, sql    float64 // P(MQL), P(SQL | followed up MQL)
	opp, win    float64 // P(opportunity | SQL), P(won | closed)
	touchSpread int     // how many marketing touches a lead of it typically has
}

var channels = []channel{
	{"paid_search", 0.28, 0.55, 0.45, 0.55, 0.22, 4},
	{"paid_social", 0.20, 0.40, 0.30, 0.45, 0.15, 4},
	{"organic", 0.16, 0.60, 0.55, 0.60, 0.30, 3},
	{"email", 0.10, 0.50, 0.40, 0.50, 0.25, 5},
	{"events", 0.08, 0.70, 0.60, 0.65, 0.35, 3},
	{"webinar", 0.07, 0.65, 0.50, 0.55, 0.28, 4},
	{"referral", 0.06, 0.80, 0.75, 0.70, 0.45, 2},
	{"outbound", 0.05, 0.35, 0.50, 0.50, 0.20, 1},
}

var regions = []struct {
	name     string
	weight   float64
	currency string
}{
	{"na", 0.45, "USD"}, {"emea", 0.35, "EUR"}, {"apac", 0.15, "USD"}, {"latam", 0.05, "USD"},
}

var segments = []struct {
	name     string
	weight   float64
	min, max float64 // deal size
}{
	{"smb", 0.55, 3000, 20000}, {"mid_market", 0.33, 20000, 90000}, {"enterprise", 0.12, 90000, 450000},
}

var teams = []struct{ name, region string }{
	{"na-inbound", "na"}, {"na-enterprise", "na"}, {"emea-inbound", "emea"}, {"emea-enterprise", "emea"},
	{"apac", "apac"}, {"latam", "latam"},
}

var firstNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elif", "Finn", "Grace", "Hiro", "Ines", "Jonas", "Kira", "Luca", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa"}
var lastNames = []string{"Adler", "Baker", "Costa", "Diaz", "Eriksen", "Fischer", "Garcia", "Huang", "Ivanova", "Jensen", "Kim", "Lopez"}

var disqualReasons = []struct {
	name   string
	weight float64
}{
	{"no budget", 0.25}, {"not a fit", 0.22}, {"no response", 0.20}, {"went with competitor", 0.12},
	{"student or job seeker", 0.08}, {"bad contact data", 0.08}, {"duplicate", 0.05},
}

var openStages = []string{"Discovery", "Demo", "Proposal", "Negotiation"}

var touchKinds = []string{"ad_click", "email_click", "content_download", "webinar", "event_visit"}

// pick chooses an index by weight.
func pick[T any](r *rand.Rand, items []T, weight func(T) float64) int {
	total := 0.0
	for _, it := range items {
		total += weight(it)
	}
	x := r.Float64() * total
	for i, it := range items {
		x -= weight(it)
		if x < 0 {
			return i
		}
	}
	return len(items) - 1
}

// logNormal draws a duration whose median is median, with spread sigma.
func logNormal(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(r.NormFloat64()*sigma))
}

func amountFor(r *rand.Rand, seg int) string {
	s := segments[seg]
	v := s.min + r.Float64()*(s.max-s.min)
	cents := int64(v*100) / 100 * 100 // whole units most of the time
	if r.IntN(4) == 0 {
		cents = int64(v * 100) // sometimes with cents
	}
	return formatCents(cents)
}

func formatCents(c int64) string {
	return itoa(c/100) + "." + pad2(c%100)
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [24]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func pad2(v int64) string {
	if v < 10 {
		return "0" + itoa(v)
	}
	return itoa(v)
}
