// Package funnel is Tandem's common language: the canonical funnel stages, the department that
// owns each one and a one-line definition of it. The exporter counts with these stages and the
// dashboards print these definitions, so both teams read the same words from the same code.
package funnel

import (
	"fmt"
	"sort"
	"strings"
)

// Stage is a canonical funnel stage.
type Stage string

// The canonical stages, in funnel order. Won, lost and disqualified are terminal.
const (
	Lead         Stage = "lead"
	MQL          Stage = "mql"
	SQL          Stage = "sql"
	Opportunity  Stage = "opportunity"
	Won          Stage = "won"
	Lost         Stage = "lost"
	Disqualified Stage = "disqualified"
)

// Department owns a stage: it is accountable for leads reaching and leaving it.
type Department string

const (
	Marketing Department = "marketing"
	Sales     Department = "sales"
)

// Definition is what a stage means, in one line, and who owns it.
type Definition struct {
	Stage      Stage
	Title      string
	Owner      Department
	Definition string
	// EnteredWhen names the timestamp that marks entry into the stage; it is the rule the
	// exporter applies and the dashboards print.
	EnteredWhen string
}

// Stages lists every canonical stage in funnel order, terminal stages last.
var Stages = []Definition{
	{Lead, "Lead", Marketing, "A person or account that entered the CRM with contact details.", "the lead's created time"},
	{MQL, "MQL", Marketing, "Marketing-qualified lead: marketing judges it ready for sales follow-up.", "the lead's became-MQL time"},
	{SQL, "SQL", Sales, "Sales-qualified lead: sales accepted the lead after following it up.", "the lead's became-SQL time"},
	{Opportunity, "Opportunity", Sales, "A deal with an amount that sales is working to close.", "the created time of the lead's first opportunity"},
	{Won, "Won", Sales, "A deal closed and signed: revenue.", "the close time of the lead's first won opportunity"},
	{Lost, "Lost", Sales, "A deal closed without a signature.", "the close time of the lead's last lost opportunity, once it has no open or won one"},
	{Disqualified, "Disqualified", Sales, "Sales rejected the lead as not workable, with a reason.", "the lead's disqualified time"},
}

// Path is the main funnel path whose step conversions the dashboards show.
var Path = []Stage{Lead, MQL, SQL, Opportunity, Won}

// Step is a funnel step whose cohort conversion Tandem publishes: of the leads that reached From
// in a period, how many have reached To by now, and how long it took them.
type Step struct{ From, To Stage }

// Name is the step's funnel_step label value: "mql_to_sql".
func (s Step) Name() string { return string(s.From) + "_to_" + string(s.To) }

// Steps are the published steps: from lead to each later stage of the path (the period's funnel,
// cumulative from the first stage; lead_to_won is the sales cycle), then each stage to the next.
var Steps = []Step{
	{Lead, MQL}, {Lead, SQL}, {Lead, Opportunity}, {Lead, Won},
	{MQL, SQL}, {SQL, Opportunity}, {Opportunity, Won},
}

// StepNames are Steps' names (Step.Name), in Steps' order, made once: the tallies name a step
// for every lead.
var StepNames = func() []string {
	out := make([]string, len(Steps))
	for i, s := range Steps {
		out[i] = s.Name()
	}
	return out
}()

// StepOf returns the step between two stages.
func StepOf(from, to Stage) (Step, bool) {
	for _, s := range Steps {
		if s.From == from && s.To == to {
			return s, true
		}
	}
	return Step{}, false
}

// OnPath is a stage's position on Path, -1 off it. A lead has reached a stage of the path when
// it has entered it or any later one: a lead that skipped SQL on its way to a deal did pass it.
func (s Stage) OnPath() int {
	for i, p := range Path {
		if p == s {
			return i
		}
	}
	return -1
}

// Lookup returns the definition of a stage.
func Lookup(s Stage) (Definition, bool) {
	for _, d := range Stages {
		if d.Stage == s {
			return d, true
		}
	}
	return Definition{}, false
}

// Parse turns a stage name from configuration into a Stage.
func Parse(name string) (Stage, error) {
	s := Stage(strings.ToLower(strings.TrimSpace(name)))
	if _, ok := Lookup(s); !ok {
		return "", fmt.Errorf("unknown funnel stage %q (want one of %s)", name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// Names returns the stage names in funnel order.
func Names() []string {
	out := make([]string, len(Stages))
	for i, d := range Stages {
		out[i] = string(d.Stage)
	}
	return out
}

// Terminal reports whether a lead in this stage no longer waits for anything.
func (s Stage) Terminal() bool { return s == Won || s == Lost || s == Disqualified }

// Index is the stage's position in Stages, for compact per-stage arrays.
func (s Stage) Index() int {
	for i, d := range Stages {
		if d.Stage == s {
			return i
		}
	}
	return -1
}

// StatusMap maps a CRM's own lead status values to canonical stages. Matching ignores case and
// surrounding space, because synced CRMs are inconsistent about both.
type StatusMap map[string]Stage

// DefaultStatusMap covers the reference schema and the defaults of Salesforce lead statuses and
// HubSpot lifecycle stages, so common CRMs work without a mapping.
func DefaultStatusMap() StatusMap {
	return StatusMap{
		// reference schema
		"new": Lead, "mql": MQL, "working": MQL, "sql": SQL, "converted": Opportunity, "disqualified": Disqualified,
		// Salesforce lead status defaults
		"open - not contacted": MQL, "working - contacted": MQL, "closed - converted": Opportunity, "closed - not converted": Disqualified,
		// HubSpot lifecycle stages
		"subscriber": Lead, "lead": Lead, "marketingqualifiedlead": MQL, "salesqualifiedlead": SQL, "opportunity": Opportunity, "customer": Won,
	}
}

// Normalize returns a map whose keys are normalised for Stage lookups.
func (m StatusMap) Normalize() StatusMap {
	out := make(StatusMap, len(m))
	for k, v := range m {
		out[normalizeStatus(k)] = v
	}
	return out
}

// Stage maps a CRM status; ok is false for a status the mapping does not know. The map must
// have been normalised with Normalize.
func (m StatusMap) Stage(status string) (Stage, bool) {
	s, ok := m[normalizeStatus(status)]
	return s, ok
}

// Statuses lists the mapped status values, sorted, for documentation and error messages.
func (m StatusMap) Statuses() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func normalizeStatus(s string) string { return NormalizeName(s) }

// NormalizeName is how status and stage names are matched: case and surrounding space ignored.
func NormalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
