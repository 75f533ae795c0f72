package funnel

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Probability is the chance that an open deal in a pipeline stage closes won, in basis points
// (1/10,000): an integer, so that weighting an amount in cents stays exact and an analyst's SQL
// (round(amount × p, 2)) gives the same number.
type Probability int64

// MaxProbability is certainty, 100 %.
const MaxProbability Probability = 10000

// ParseProbability reads a ratio between 0 and 1 ("0.25") with at most four decimals.
func ParseProbability(s string) (Probability, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return 0, fmt.Errorf("must be a ratio between 0 and 1 such as 0.25, not %q", s)
	}
	p := math.Round(f * float64(MaxProbability))
	if math.Abs(p-f*float64(MaxProbability)) > 1e-6 {
		return 0, fmt.Errorf("%q has more than four decimals", s)
	}
	return Probability(p), nil
}

// Ratio is the probability as a ratio between 0 and 1.
func (p Probability) Ratio() float64 { return float64(p) / float64(MaxProbability) }

// Weigh is an amount (in cents, never negative) times the probability, rounded half up to the
// cent: the expected value of the deal.
func (p Probability) Weigh(cents int64) int64 {
	return (cents*int64(p) + int64(MaxProbability)/2) / int64(MaxProbability)
}

// DefaultStageProbability is what a pipeline stage the mapping does not know weighs: Salesforce's
// probability for its first stage, so that an unmapped deal counts for little, not for nothing.
const DefaultStageProbability Probability = 1000

// StageProbabilities maps a CRM's own opportunity stage names to win probabilities, for the
// weighted pipeline. Matching ignores case and surrounding space, like StatusMap.
type StageProbabilities map[string]Probability

// DefaultStageProbabilities covers the default stages of Salesforce and HubSpot deal pipelines
// and the common generic names, with their vendors' default probabilities.
func DefaultStageProbabilities() StageProbabilities {
	return StageProbabilities{
		// Salesforce opportunity stage defaults
		"prospecting": 1000, "qualification": 1000, "needs analysis": 2000, "value proposition": 5000,
		"id. decision makers": 6000, "perception analysis": 7000, "proposal/price quote": 7500, "negotiation/review": 9000,
		// HubSpot default deal pipeline
		"appointmentscheduled": 2000, "qualifiedtobuy": 4000, "presentationscheduled": 6000,
		"decisionmakerboughtin": 8000, "contractsent": 9000,
		// generic names (and the reference schema's demo)
		"discovery": 1000, "demo": 2500, "proposal": 5000, "negotiation": 8000, "commit": 9000,
	}
}

// Normalize returns a map whose keys are normalised for Of lookups.
func (m StageProbabilities) Normalize() StageProbabilities {
	out := make(StageProbabilities, len(m))
	for k, v := range m {
		out[normalizeStatus(k)] = v
	}
	return out
}

// Of is the win probability of an open deal in the stage; ok is false for a stage the mapping
// does not know, which weighs fallback. The map must have been normalised with Normalize.
func (m StageProbabilities) Of(stage string, fallback Probability) (p Probability, ok bool) {
	if p, ok := m[normalizeStatus(stage)]; ok {
		return p, true
	}
	return fallback, false
}
