package funnel

import "testing"

func TestStatusMapping(t *testing.T) {
	m := DefaultStatusMap().Normalize()
	cases := []struct {
		status string
		want   Stage
		ok     bool
	}{
		{"New", Lead, true},
		{"  MQL ", MQL, true},
		{"Open - Not Contacted", MQL, true},
		{"Closed - Not Converted", Disqualified, true},
		{"salesqualifiedlead", SQL, true},
		{"customer", Won, true},
		{"Nurture", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := m.Stage(c.status)
		if got != c.want || ok != c.ok {
			t.Errorf("Stage(%q) = %q, %v; want %q, %v", c.status, got, ok, c.want, c.ok)
		}
	}
}

func TestStagesAreDefinedOnceAndOwned(t *testing.T) {
	seen := map[Stage]bool{}
	for i, d := range Stages {
		if seen[d.Stage] {
			t.Errorf("stage %q defined twice", d.Stage)
		}
		seen[d.Stage] = true
		if d.Owner != Marketing && d.Owner != Sales {
			t.Errorf("stage %q has no owning department", d.Stage)
		}
		if d.Definition == "" || d.EnteredWhen == "" {
			t.Errorf("stage %q lacks a definition", d.Stage)
		}
		if d.Stage.Index() != i {
			t.Errorf("Index(%q) = %d, want %d", d.Stage, d.Stage.Index(), i)
		}
	}
	for _, s := range Path {
		if !seen[s] {
			t.Errorf("path stage %q is not defined", s)
		}
	}
}

func TestParse(t *testing.T) {
	if s, err := Parse(" SQL "); err != nil || s != SQL {
		t.Fatalf("Parse(SQL) = %q, %v", s, err)
	}
	if _, err := Parse("customer"); err == nil {
		t.Fatal("Parse(customer) should fail: it is a CRM status, not a canonical stage")
	}
	if !Won.Terminal() || MQL.Terminal() {
		t.Fatal("terminal stages wrong")
	}
}

func TestGoalsAreOrdered(t *testing.T) {
	all := []Goal{GoalPace, GoalSLACompliance, GoalWinRate, GoalCoverage, GoalSourcedShare, GoalROI}
	for _, s := range Path[1:] {
		g, ok := StepGoals[s]
		if !ok {
			t.Errorf("no goal for the step to %s", s)
		}
		if d, _ := Lookup(s); g.Owner != d.Owner {
			t.Errorf("goal %s owned by %s, but stage %s by %s", g.Name, g.Owner, s, d.Owner)
		}
		all = append(all, g)
	}
	for _, g := range all {
		if !(g.Low < g.High) || g.Name == "" || g.Why == "" {
			t.Errorf("goal %+v: red must end below green", g)
		}
	}
}
