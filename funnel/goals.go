package funnel

// Goal is where a ratio turns from red to orange (Low) and from orange to green (High), for the
// team that owns it: the colours of both teams' numbers on the wall and their dashboards, defined
// once in the common language so that marketing and sales are held to stated bars, not to a
// dashboard author's taste.
type Goal struct {
	Name      string
	Owner     Department
	Low, High float64 // red below Low, orange below High, green from High
	Why       string
}

// The goals. Conversion bars are the middle of the published B2B benchmarks (lead → MQL 15–30 %,
// MQL → SQL 30–50 %, SQL → opportunity 40–60 %, opportunity → won 20–30 %); the SLA bars follow
// the one-hour follow-up research (HBR 2011); pipeline coverage of 3× the remaining target is the
// usual sales rule of thumb.
var (
	GoalPace          = Goal{"pace", Sales, 0.9, 1.0, "won ÷ linear pace to the shared target: 100 % is on track"}
	GoalSLACompliance = Goal{"follow-up within SLA", Sales, 0.8, 0.9, "leads touched by their deadline ÷ leads due"}
	GoalWinRate       = Goal{"win rate", Sales, 0.2, 0.3, "won ÷ (won + lost)"}
	GoalCoverage      = Goal{"pipeline coverage", Sales, 1.0, 3.0, "open pipeline closing in the period ÷ the target still to win"}
	GoalSourcedShare  = Goal{"marketing-sourced share of revenue", Marketing, 0.2, 0.4, "marketing-sourced revenue won ÷ all revenue won"}
	GoalROI           = Goal{"return on ad spend", Marketing, 0.0, 1.0, "(attributed revenue − spend) ÷ spend: 0 breaks even"}
)

// StepGoals colour each funnel step's cohort conversion; the step's owner is the team that owns
// its second stage (marketing qualifies, sales accepts, opens and closes).
var StepGoals = map[Stage]Goal{
	MQL:         {"lead → MQL", Marketing, 0.15, 0.25, "of the period's leads, the share that became MQL"},
	SQL:         {"MQL → SQL", Sales, 0.3, 0.5, "of the period's MQLs, the share sales accepted"},
	Opportunity: {"SQL → opportunity", Sales, 0.4, 0.6, "of the period's SQLs, the share with a deal"},
	Won:         {"opportunity → won", Sales, 0.2, 0.3, "of the period's opportunities, the share won"},
}
