package tally

import (
	"strings"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/funnel"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/money"
	"github.com/tandem-oss/tandem/sla"
	"github.com/tandem-oss/tandem/source"
)

// Data-quality checks found while tallying the CRM (values of the check label).
const (
	CheckDuplicateID         = "duplicate_id"             // a second row with the same id: skipped
	CheckNullSource          = "null_source"              // lead without a source: counted as "unknown"
	CheckUnknownOwner        = "unknown_owner"            // lead owned by an owner not in the owners query: team "unknown"
	CheckUnknownStatus       = "unknown_status"           // status not in funnel.status_map: left out of tandem_leads
	CheckActivityUnknownLead = "activity_unknown_lead"    // activity for a lead that does not exist: skipped
	CheckActivityBeforeLead  = "activity_before_lead"     // activity dated before its lead was created: skipped
	CheckOpportunityNoLead   = "opportunity_unknown_lead" // opportunity without a known lead: counted with "unknown" dimensions
	CheckCurrencyWithoutRate = "currency_without_rate"    // amount in a currency with no configured rate: skipped
	CheckWonWithoutCloseTime = "won_without_close_time"   // won but no closed_at: not in any period's revenue
	CheckAmountOutOfRange    = "amount_out_of_range"      // negative, or above targets.max_deal_amount: skipped
	CheckTimestampInFuture   = "timestamp_in_future"      // dated after now (beyond FutureTolerance): skipped
	CheckStageOutOfOrder     = "stage_out_of_order"       // a stage time before the one it follows: counted as is
)

// FutureTolerance is how far ahead of the exporter's clock a timestamp may be (clock skew
// between the CRM, its sync and this host) before it counts as a future timestamp.
const FutureTolerance = 5 * time.Minute

// lead is what the tally keeps of a lead while a poll runs.
type lead struct {
	raw        []string // raw dimension values, in cfg.Dims order
	created    time.Time
	mql, sql   time.Time
	disq       time.Time
	reason     string
	status     string
	source     string    // raw source, for marketing-sourced
	firstTouch time.Time // first qualifying touch at or after the clock start
	firstAny   time.Time // first qualifying touch at or after creation (speed to lead)
	attempts   int       // qualifying touches within sla.attempts.within of the clock start
	cal        *sla.Calendar
	touches    []kindCount // sales activities by kind (few kinds: a slice beats a map per lead)
	opps       int
	won, lost  int
	open       int
}

type kindCount struct {
	kind string
	n    int64
}

func (l *lead) touch(kind string) {
	for i := range l.touches {
		if l.touches[i].kind == kind {
			l.touches[i].n++
			return
		}
	}
	l.touches = append(l.touches, kindCount{kind, 1})
}

type opportunity struct {
	entity   int64    // its lead_id as in the row: whose numbers it counts in (see LiveCRM)
	leadID   int64    // 0 without a known lead
	raw      []string // raw dimensions of its lead (all "unknown" without one)
	amount   money.Cents
	stage    string
	created  time.Time
	expected time.Time
	closed   time.Time
	isClosed bool
	isWon    bool
}

// CRM tallies one poll of the CRM database. Feed it owners, then leads, then activities and
// opportunities (in any order), then call Finish.
type CRM struct {
	cfg    *config.Config
	folder *Folder
	now    time.Time
	snap   *Snapshot
	seen   seen
	owners map[int64]source.Owner
	leads  map[int64]*lead
	oppIDs map[int64]bool
	actIDs map[int64]bool
	opps   []opportunity
	// touches is the campaign database's touch index, nil when no campaign database is polled.
	touches *TouchIndex
	// volatile holds the leads whose numbers depend on the clock (see Volatile).
	volatile map[int64]bool
	waitOnly map[int64]bool
	waiters  map[int64]Waiter
	problems []leadProblem
	// unique is set when the rows come from a store keyed by id (the live tally's mirror), where
	// no id can repeat: the duplicate checks' id sets are then skipped (5M activity ids at a
	// million leads).
	unique bool
	// admitted is set when the label values were admitted for several tallies at once (admit).
	admitted bool
}

// admit admits into the folder the label values the rows fed into the tallies use, most
// frequent first (see Folder). Tallies of disjoint sets of leads admit together, so that splitting
// the leads admits exactly what one tally of them all would.
func admit(folder *Folder, cs ...*CRM) {
	seen, reasons := seen{}, map[string]int{}
	for _, c := range cs {
		for label, values := range c.seen {
			for v, n := range values {
				if seen[label] == nil {
					seen[label] = map[string]int{}
				}
				seen[label][v] += n
			}
		}
		for _, l := range c.leads {
			if !l.disq.IsZero() {
				reasons[l.reason]++
			}
		}
		c.admitted = true
	}
	for _, d := range cs[0].cfg.Dims {
		folder.Admit(d.Name, seen[d.Name])
	}
	for _, label := range []string{metrics.LabelKind, metrics.LabelOpportunityStage} {
		folder.Admit(label, seen[label])
	}
	folder.Admit(metrics.LabelDisqualifiedReason, reasons)
}

// NewCRM starts a tally. The Folder lives as long as the process (admission is sticky).
func NewCRM(cfg *config.Config, folder *Folder, now time.Time) *CRM {
	return &CRM{
		cfg: cfg, folder: folder, now: now, snap: newSnapshot(), seen: seen{},
		owners: map[int64]source.Owner{}, leads: map[int64]*lead{}, oppIDs: map[int64]bool{}, actIDs: map[int64]bool{},
		volatile: map[int64]bool{}, waitOnly: map[int64]bool{}, waiters: map[int64]Waiter{},
	}
}

// Volatile returns the ids of the leads (as the rows' lead_id: 0 for deals without one) whose
// numbers depended on the clock at the last finish and will change as time passes without any
// row changing: a lead
// waiting for its first touch, one whose attempts window is still open, a row dated in the
// future, a won deal without a close time. Every other lead's numbers stay as they are until one
// of its rows changes, which is what lets the live tally keep them between polls.
func (c *CRM) Volatile() map[int64]bool { return c.volatile }

// dependsOnNow marks a lead as volatile.
func (c *CRM) dependsOnNow(lead int64) { c.volatile[lead] = true }

// leadProblem is a data-quality problem found in a lead's rows (lead id as in the rows: an
// activity's or deal's lead_id even when no such lead exists, 0 for none).
type leadProblem struct {
	lead int64
	Problem
}

// problemOf records a problem of a lead's rows; finishRows counts it with the lead's numbers.
func (c *CRM) problemOf(lead int64, query, check string) {
	c.problems = append(c.problems, leadProblem{lead, Problem{query, check}})
}

// UseTouches joins the campaign database's touches into this tally (campaign results,
// attribution, marketing-influenced revenue). Call before Finish.
func (c *CRM) UseTouches(x *TouchIndex) { c.touches = x }

// Owner adds an owner.
func (c *CRM) Owner(o source.Owner) {
	if _, dup := c.owners[o.ID]; dup {
		c.snap.problem(source.QueryOwners, CheckDuplicateID)
		return
	}
	c.owners[o.ID] = o
}

// Lead adds a lead. Owners must have been added before.
func (c *CRM) Lead(l source.Lead) {
	if _, dup := c.leads[l.ID]; dup {
		c.problemOf(l.ID, source.QueryLeads, CheckDuplicateID)
		return
	}
	if c.future(l.CreatedAt) {
		c.dependsOnNow(l.ID)
		c.problemOf(l.ID, source.QueryLeads, CheckTimestampInFuture)
		return
	}
	if outOfOrder(l.CreatedAt, l.MQLAt) || outOfOrder(l.MQLAt, l.SQLAt) || outOfOrder(l.CreatedAt, l.SQLAt) || outOfOrder(l.CreatedAt, l.DisqualifiedAt) {
		c.problemOf(l.ID, source.QueryLeads, CheckStageOutOfOrder)
	}
	if strings.TrimSpace(l.Source) == "" {
		c.problemOf(l.ID, source.QueryLeads, CheckNullSource)
	}
	owner, hasOwner := c.owners[l.OwnerID]
	if l.OwnerID != 0 && !hasOwner {
		c.problemOf(l.ID, source.QueryLeads, CheckUnknownOwner)
	}
	raw := make([]string, len(c.cfg.Dims))
	for i, d := range c.cfg.Dims {
		var v string
		switch d.Name {
		case metrics.DimSource:
			v = l.Source
		case metrics.DimRegion:
			v = l.Region
		case metrics.DimSegment:
			v = l.Segment
		case metrics.DimSalesTeam:
			v = owner.SalesTeam
		case metrics.DimOwner:
			v = owner.Name
		}
		raw[i] = clean(v)
		c.seen.note(d.Name, raw[i])
	}
	c.leads[l.ID] = &lead{
		raw: raw, created: l.CreatedAt, mql: l.MQLAt, sql: l.SQLAt, disq: l.DisqualifiedAt,
		reason: clean(l.DisqualifiedReason), status: l.Status, source: clean(l.Source),
		cal: c.cfg.Calendars.For(owner.Region), // the owner's region decides the business hours
	}
}

func (c *CRM) future(t time.Time) bool { return !t.IsZero() && t.After(c.now.Add(FutureTolerance)) }

// outOfOrder reports a later stage's time before an earlier one's (both set).
func outOfOrder(earlier, later time.Time) bool {
	return !earlier.IsZero() && !later.IsZero() && later.Before(earlier)
}

// clockStart is when the lead's SLA clock starts; zero if it has not.
func (c *CRM) clockStart(l *lead) time.Time {
	switch c.cfg.ClockFrom {
	case funnel.Lead:
		return l.created
	case funnel.SQL:
		return l.sql
	default:
		return l.mql
	}
}

// Activity adds a sales touch.
func (c *CRM) Activity(a source.Activity) {
	if !c.unique {
		if c.actIDs[a.ID] {
			c.problemOf(a.LeadID, source.QueryActivities, CheckDuplicateID)
			return
		}
		c.actIDs[a.ID] = true
	}
	l, ok := c.leads[a.LeadID]
	if !ok {
		c.problemOf(a.LeadID, source.QueryActivities, CheckActivityUnknownLead)
		return
	}
	if a.OccurredAt.Before(l.created) {
		c.problemOf(a.LeadID, source.QueryActivities, CheckActivityBeforeLead)
		return
	}
	if c.future(a.OccurredAt) {
		c.dependsOnNow(a.LeadID)
		c.problemOf(a.LeadID, source.QueryActivities, CheckTimestampInFuture)
		return
	}
	kind := strings.ToLower(clean(a.Kind))
	l.touch(kind)
	c.seen.note(metrics.LabelKind, kind)
	if !c.cfg.TouchKind[kind] {
		return
	}
	if l.firstAny.IsZero() || a.OccurredAt.Before(l.firstAny) {
		l.firstAny = a.OccurredAt
	}
	start := c.clockStart(l)
	if start.IsZero() || a.OccurredAt.Before(start) {
		return // a touch before the clock starts is not follow-up
	}
	if l.firstTouch.IsZero() || a.OccurredAt.Before(l.firstTouch) {
		l.firstTouch = a.OccurredAt
	}
	if at := c.cfg.SLA.Attempts; at != nil && !a.OccurredAt.After(start.Add(at.Within)) {
		l.attempts++
	}
}

// Opportunity adds a deal.
func (c *CRM) Opportunity(o source.Opportunity) {
	if !c.unique {
		if c.oppIDs[o.ID] {
			c.problemOf(o.LeadID, source.QueryOpportunities, CheckDuplicateID)
			return
		}
		c.oppIDs[o.ID] = true
	}
	rate, ok := c.cfg.Rate(o.Currency)
	if !ok {
		c.problemOf(o.LeadID, source.QueryOpportunities, CheckCurrencyWithoutRate)
		return
	}
	if amount := rate.Convert(o.Amount); amount < 0 || amount > c.cfg.MaxDeal {
		c.problemOf(o.LeadID, source.QueryOpportunities, CheckAmountOutOfRange)
		return
	}
	if c.future(o.CreatedAt) || c.future(o.ClosedAt) {
		c.dependsOnNow(o.LeadID)
		c.problemOf(o.LeadID, source.QueryOpportunities, CheckTimestampInFuture)
		return
	}
	op := opportunity{
		entity: o.LeadID,
		amount: rate.Convert(o.Amount), stage: clean(o.Stage), created: o.CreatedAt, expected: o.ExpectedClose,
		closed: o.ClosedAt, isClosed: o.IsClosed || o.IsWon, isWon: o.IsWon,
	}
	if l, ok := c.leads[o.LeadID]; ok {
		op.leadID = o.LeadID
		op.raw = l.raw
		l.opps++
		switch {
		case op.isWon:
			l.won++
		case op.isClosed:
			l.lost++
		default:
			l.open++
		}
	} else {
		c.problemOf(o.LeadID, source.QueryOpportunities, CheckOpportunityNoLead)
		op.raw = make([]string, len(c.cfg.Dims))
		for i := range op.raw {
			op.raw[i] = metrics.ValueUnknown
		}
	}
	if op.isWon && op.closed.IsZero() {
		c.problemOf(o.LeadID, source.QueryOpportunities, CheckWonWithoutCloseTime)
	}
	if !op.isClosed {
		c.seen.note(metrics.LabelOpportunityStage, op.stage)
	}
	c.opps = append(c.opps, op)
}

// currentStage is the lead's stage now: its opportunities decide once it has any, otherwise its
// CRM status through the status map.
func (c *CRM) currentStage(l *lead) (funnel.Stage, bool) {
	switch {
	case l.won > 0:
		return funnel.Won, true
	case l.open > 0:
		return funnel.Opportunity, true
	case l.lost > 0:
		return funnel.Lost, true
	}
	return c.cfg.StatusMap.Stage(l.status)
}

// Finish computes the snapshot.
func (c *CRM) Finish() *Snapshot {
	s, vs := c.finishRows()
	s.merge(vs, 1)
	for _, w := range c.waiters {
		w.Add(s, c.cfg, c.now)
	}
	c.globals(s)
	return s
}

// finishRows adds up what the rows fed in contribute: the leads whose numbers stay as they are
// until a row changes into s, those that move with the clock (Volatile) into vs. Every number it
// adds is a sum over leads (deals and activities count with the lead_id they carry), so the
// numbers of a set of leads are the sum of each lead's: the live tally relies on it.
func (c *CRM) finishRows() (s, vs *Snapshot) {
	if !c.admitted {
		admit(c.folder, c)
	}

	c.markVolatile()
	s, vs = c.snap, newSnapshot()
	to := func(lead int64) *Snapshot {
		if c.volatile[lead] {
			return vs
		}
		return s
	}
	for _, p := range c.problems {
		to(p.lead).Problems[p.Problem]++
	}
	target := c.cfg.SLA.Target
	for id, l := range c.leads {
		s := to(id)
		dims := c.dims(l.raw)
		with := func(first ...string) []string { return append(first, dims...) }
		s.add(metrics.LeadsCreated, 1, dims...)
		s.add(metrics.FunnelStageEntered, 1, with(string(funnel.Lead))...)
		if !l.mql.IsZero() {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.MQL))...)
		}
		if !l.sql.IsZero() {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.SQL))...)
		}
		if l.opps > 0 {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.Opportunity))...)
		}
		if l.won > 0 {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.Won))...)
		}
		if l.lost > 0 {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.Lost))...)
		}
		if !l.disq.IsZero() {
			s.add(metrics.FunnelStageEntered, 1, with(string(funnel.Disqualified))...)
			s.add(metrics.LeadsDisqualified, 1, with(c.folder.Value(metrics.LabelDisqualifiedReason, l.reason))...)
		}
		if st, ok := c.currentStage(l); ok {
			s.add(metrics.Leads, 1, with(string(st))...)
		} else {
			s.problem(source.QueryLeads, CheckUnknownStatus)
		}
		for _, t := range l.touches {
			s.add(metrics.SalesTouches, t.n, with(c.folder.Value(metrics.LabelKind, t.kind))...)
		}

		if !l.firstAny.IsZero() {
			s.observe(metrics.SpeedToLead, l.firstAny.Sub(l.created).Seconds(), dims...)
		}
		start := c.clockStart(l)
		switch c.attemptsState(l) {
		case attemptsMet:
			s.add(metrics.AttemptsMet, 1, dims...)
		case attemptsMissed:
			s.add(metrics.AttemptsMissed, 1, dims...)
		}
		switch c.followupState(l) {
		case touched:
			latency := l.cal.Between(start, l.firstTouch)
			s.observe(metrics.FollowupLatency, latency.Seconds(), dims...)
			if latency <= target {
				s.add(metrics.FollowupWithinSLA, 1, dims...)
			} else {
				s.add(metrics.FollowupOverSLA, 1, dims...)
			}
		case abandoned, waiting:
			w := Waiter{dims: dims, start: start, cal: l.cal}
			if c.waitOnly[id] {
				c.waiters[id] = w // the caller adds it (Waiter.Add)
			} else {
				w.Add(s, c.cfg, c.now)
			}
		}
	}

	periods := c.periods()
	for _, o := range c.opps {
		s := to(o.entity)
		dims := c.dims(o.raw)
		n := int64(o.amount)
		s.add(metrics.OpportunitiesCreated, 1, dims...)
		s.add(metrics.OpportunitiesCreatedAmt, n, dims...)
		switch {
		case o.isWon:
			s.add(metrics.OpportunitiesWon, 1, dims...)
			s.add(metrics.OpportunitiesWonAmt, n, dims...)
			for _, p := range periods {
				if !o.closed.IsZero() && p.Contains(o.closed) {
					s.add(metrics.RevenueWon, n, string(p.Kind))
				}
			}
		case o.isClosed:
			s.add(metrics.OpportunitiesLost, 1, dims...)
			s.add(metrics.OpportunitiesLostAmt, n, dims...)
		default:
			stage := c.folder.Value(metrics.LabelOpportunityStage, o.stage)
			s.add(metrics.OpportunitiesOpen, 1, append([]string{stage}, dims...)...)
			s.add(metrics.OpportunitiesOpenAmt, n, append([]string{stage}, dims...)...)
			if !o.expected.IsZero() {
				y, m, d := o.expected.Date()
				day := time.Date(y, m, d, 0, 0, 0, 0, c.cfg.Location)
				for _, p := range periods {
					if p.Contains(day) {
						s.add(metrics.PipelineOpen, n, string(p.Kind))
					}
				}
			}
		}
	}
	c.marketing(to)
	return s, vs
}

// attempts is the outcome of the attempts rule for a lead, at c.now.
type attempts int

const (
	attemptsNone   attempts = iota // no rule, or no clock start
	attemptsMet                    // for good
	attemptsMissed                 // for good
	attemptsOpen                   // the window is still open: depends on the clock
)

// followup is where a lead's follow-up clock stands, at c.now.
type followup int

const (
	noClock    followup = iota // the clock has not started
	touched                    // a qualifying touch came: SLA met or missed, for good
	notWaiting                 // no touch, but disqualified, in a deal or in a terminal stage
	abandoned                  // waited longer than sla.waiting_max_age: stays abandoned
	waiting                    // still waiting: depends on the clock
)

func (c *CRM) attemptsState(l *lead) attempts {
	at, start := c.cfg.SLA.Attempts, c.clockStart(l)
	switch {
	case at == nil || start.IsZero():
		return attemptsNone
	case l.attempts >= at.Count:
		return attemptsMet
	case !c.now.Before(start.Add(at.Within)):
		return attemptsMissed
	}
	return attemptsOpen
}

func (c *CRM) followupState(l *lead) followup {
	start := c.clockStart(l)
	switch {
	case start.IsZero():
		return noClock
	case !l.firstTouch.IsZero():
		return touched
	case !c.waiting(l):
		return notWaiting
	case c.cfg.SLA.WaitingMaxAge > 0 && c.now.Sub(start) > c.cfg.SLA.WaitingMaxAge:
		return abandoned
	}
	return waiting
}

// markVolatile marks the leads whose numbers depend on the clock, besides those with rows
// dated in the future (marked as they were fed): an open attempts window, a lead waiting for
// its first touch, a won deal without a close time (attributed as won now).
//
// A lead that depends on the clock only because it waits for its first touch (the common case:
// thousands at a million leads) is not volatile: it becomes a Waiter, and its other numbers count
// as stable ones. Only the waiter is evaluated at every poll, which is far cheaper than tallying
// the lead.
func (c *CRM) markVolatile() {
	for id, l := range c.leads {
		if c.attemptsState(l) == attemptsOpen {
			c.dependsOnNow(id)
		}
	}
	for _, o := range c.opps {
		if o.isWon && o.closed.IsZero() && c.touches != nil {
			c.dependsOnNow(o.entity)
		}
	}
	for id, l := range c.leads {
		if !c.volatile[id] && c.followupState(l) == waiting {
			c.waitOnly[id] = true
		}
	}
}

// Waiter is a lead waiting for its first touch: its follow-up numbers move with the clock (SLA
// time waited, within or over, abandoned after sla.waiting_max_age) while its rows do not.
type Waiter struct {
	dims  []string // published label values
	start time.Time
	cal   *sla.Calendar
}

// Abandoned reports whether the lead has waited longer than sla.waiting_max_age at now; it then
// stays abandoned.
func (w Waiter) Abandoned(cfg *config.Config, now time.Time) bool {
	return cfg.SLA.WaitingMaxAge > 0 && now.Sub(w.start) > cfg.SLA.WaitingMaxAge
}

// Add adds the lead's follow-up numbers at now: abandoned, or waiting within or over the SLA
// with the SLA time waited.
func (w Waiter) Add(s *Snapshot, cfg *config.Config, now time.Time) {
	if w.Abandoned(cfg, now) {
		s.add(metrics.FollowupAbandoned, 1, w.dims...)
		return
	}
	wait := w.cal.Between(w.start, now) // SLA time; zero for a clock start in the future
	status := metrics.SLAWithin
	if wait > cfg.SLA.Target {
		status = metrics.SLAOver
	}
	s.add(metrics.FollowupWaiting, 1, append([]string{status}, w.dims...)...)
	s.max(metrics.FollowupOldestWait, wait.Seconds(), w.dims...)
}

// Waiters returns the leads that wait for their first touch and depend on the clock for nothing
// else, after finishRows: their follow-up numbers are not in its snapshots.
func (c *CRM) Waiters() map[int64]Waiter { return c.waiters }

// periods are the fiscal periods that contain now, one per kind.
func (c *CRM) periods() []fiscal.Period { return periodsAt(c.cfg, c.now) }

func periodsAt(cfg *config.Config, now time.Time) []fiscal.Period {
	periods := make([]fiscal.Period, len(fiscal.Kinds))
	for i, k := range fiscal.Kinds {
		periods[i] = cfg.Calendar.Period(k, now)
	}
	return periods
}

// globals adds what does not come from rows: targets, the periods' clocks, settings published
// for dashboards, and the families that must exist even when empty.
func (c *CRM) globals(s *Snapshot) {
	for _, p := range c.periods() {
		k := string(p.Kind)
		s.add(metrics.RevenueWon, 0, k) // a period with no revenue yet publishes 0
		s.add(metrics.PipelineOpen, 0, k)
		missing := 1.0
		if t, ok := c.cfg.TargetFor(p); ok {
			s.add(metrics.RevenueTarget, int64(t), k)
			missing = 0
		}
		s.set(metrics.TargetMissing, missing, k, p.Name)
		s.set(metrics.PeriodElapsed, p.ElapsedRatio(c.now), k)
		s.set(metrics.PeriodStart, float64(p.Start.Unix()), k)
		s.set(metrics.PeriodEnd, float64(p.End.Unix()), k)
		s.add(metrics.PeriodInfo, 1, k, p.Name)
	}
	for _, d := range []string{metrics.SourcedRevenue, metrics.InfluencedRevenue, metrics.SourcedPipeline, metrics.InfluencedPipeline} {
		s.add(d, 0) // published even when zero
	}
	s.set(metrics.SLATarget, c.cfg.SLA.Target.Seconds())
	s.add(metrics.ReportingCurrency, 1, c.cfg.Targets.ReportingCurrency)
	// Families that must exist even when empty, so dashboards show 0, not "No data".
	for _, d := range metrics.CRM {
		s.family(d.Name)
	}
}

// waiting says whether a lead whose clock has started and who has no qualifying touch still
// waits for one: not disqualified, no opportunity, and not in a terminal stage.
func (c *CRM) waiting(l *lead) bool {
	if !l.disq.IsZero() || l.opps > 0 {
		return false
	}
	if st, ok := c.cfg.StatusMap.Stage(l.status); ok && st.Terminal() {
		return false
	}
	return true
}

func (c *CRM) dims(raw []string) []string {
	out := make([]string, len(raw))
	for i, d := range c.cfg.Dims {
		out[i] = c.folder.Value(d.Name, raw[i])
	}
	return out
}

// DimNames returns the enabled lead dimension label names, in label order.
func DimNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Dims))
	for i, d := range cfg.Dims {
		out[i] = d.Name
	}
	return out
}
