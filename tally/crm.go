package tally

import (
	"slices"
	"strings"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/metrics"
	"github.com/tandem-oss/tandem/source"
)

// Data-quality checks found while tallying the CRM (values of the check label).
const (
	CheckDuplicateID         = "duplicate_id"             // a second row with the same id: skipped
	CheckNullSource          = "null_source"              // lead without a source: counted as "unknown"
	CheckReservedValue       = "reserved_label_value"     // a label value literally "unknown" or "other": merges with Tandem's own
	CheckPersonalData        = "personal_data_in_label"   // a label value that looks like an e-mail address: published as "other"
	CheckUnknownOwner        = "unknown_owner"            // lead owned by an owner not in the owners query: team "unknown"
	CheckUnknownStatus       = "unknown_status"           // status not in funnel.status_map: left out of tandem_leads
	CheckActivityUnknownLead = "activity_unknown_lead"    // activity for a lead that does not exist: skipped
	CheckActivityBeforeLead  = "activity_before_lead"     // activity dated before its lead was created: skipped
	CheckOpportunityNoLead   = "opportunity_unknown_lead" // opportunity without a known lead: counted with "unknown" dimensions
	CheckCurrencyWithoutRate = "currency_without_rate"    // amount in a currency with no configured rate: skipped
	CheckWonWithoutCloseTime = "won_without_close_time"   // won but no closed_at: in no period
	CheckAmountOutOfRange    = "amount_out_of_range"      // negative, or above targets.max_deal_amount: skipped
	CheckTimestampInFuture   = "timestamp_in_future"      // dated after now (beyond FutureTolerance): skipped for now
	CheckStageOutOfOrder     = "stage_out_of_order"       // a stage time before the one it follows: counted as is
)

// FutureTolerance is how far ahead of the exporter's clock a timestamp may be (clock skew
// between the CRM, its sync and this host) before it counts as a future timestamp.
const FutureTolerance = 5 * time.Minute

// CRM tallies one poll of the CRM database at one instant. Feed it owners, then leads, then
// activities and opportunities (in any order), then call Finish.
type CRM struct {
	cfg    *config.Config
	folder *Folder
	now    time.Time
	spans  fiscal.Spans
	snap   *Snapshot
	seen   seen
	owners map[int64]source.Owner
	leads  map[int64]*lead
	oppIDs idSet
	actIDs idSet
	opps   []opportunity
	// touches is the campaign database's touches, nil when no campaign database is polled.
	touches Touches
	// volatile holds the leads whose numbers depend on the clock (see Volatile).
	volatile map[int64]bool
	waitOnly map[int64]bool
	waiters  map[int64]Waiter
	arrivals map[int64]Arrival
	problems []leadProblem
	// orphans notes the timestamps of deals without a known lead, by their lead_id (see reach).
	orphans map[int64]*reach
	// unique is set when the rows come from a store keyed by id (the live tally's mirror), where
	// no id can repeat: the duplicate checks' id sets are then skipped (5M activity ids at a
	// million leads).
	unique bool
	// admitted is set when the label values were admitted for several tallies at once (admit).
	admitted bool
	// digests sums the digests of each entity's rows, skipped ones included (see Digest).
	digests map[int64]*Digest
	// lastDigest is the digest the last row added to: a lead's rows mostly come one after the
	// other (a range read in the table's order), and at a million leads looking each of its 5M
	// activities' digests up cost 0.35 s of a cold start.
	lastDigest   *Digest
	lastDigestID int64
	// lastLead is the lead the last activity was of, for the same reason (the lookup cost as
	// much as the digest's); kinds is what each raw activity kind stands for (kindOf).
	lastLead     *lead
	lastLeadID   int64
	kinds        strMemo[activityKind]
	kindLabels   strMemo[string]      // what each kind of a lead's touches publishes as (kindLabel)
	statuses     strMemo[mappedStage] // what each lead status maps to (currentStage)
	salesSources strMemo[bool]        // whether each lead source is sales' own (marketingSource)
	ahead        map[int64]bool       // entities with a row dated in the future (rowAhead)
	lines        *lines               // while finishRows runs: the samples its leads add to
	// arena, if set, is where a full recount's round keeps its leads and their facts (see
	// factsArena): none of them outlives the round.
	arena   *factsArena
	joinBuf []Touch // a lead's touches while joinTouches reads them
	// attrBuf holds a won deal's touch times, weights and cents while attribute splits it.
	attrBuf attrBuf
	// seenDims is seen's counts of the dimensions' values (cfg.Dims order), looked up once
	// (seen.counts); kindSeen counts the activities by kind, kindIndex where each kind's count is.
	seenDims  []map[string]int
	kindSeen  []kindSeen
	kindIndex map[string]int32
}

// Digest sums the digests (source.DigestColumn) of one entity's rows, per query, as the
// database sums them for a reconciliation: every row the query returned, whether the tally used
// it or not.
type Digest [3]DigestSum

// DigestSum is the number of rows of one query and the sum of their digests. Row digests are
// 32-bit hashes (hash_record), so sums are compared modulo 2^32 (Same), and the live tallies keep
// them so: four bytes a sum, however many rows it adds up.
type DigestSum struct{ N, Sum int64 }

// Same reports whether two sums are of as many rows with the same digests, modulo 2^32.
func (d DigestSum) Same(o DigestSum) bool { return d.N == o.N && uint32(d.Sum) == uint32(o.Sum) }

// The queries a Digest sums, by index.
const (
	DigestLeads = iota
	DigestActivities
	DigestOpportunities
)

// DigestIndex is the index in a Digest of a CRM query's sums, -1 for a query not summed.
func DigestIndex(query string) int {
	switch query {
	case source.QueryLeads:
		return DigestLeads
	case source.QueryActivities:
		return DigestActivities
	case source.QueryOpportunities:
		return DigestOpportunities
	}
	return -1
}

// digest adds a row's digest to its entity's, and returns the entity's.
func (c *CRM) digest(id int64, query int, d int64) *Digest {
	x := c.lastDigest
	if x == nil || c.lastDigestID != id {
		if x = c.digests[id]; x == nil {
			x = c.arena.digest()
			c.digests[id] = x
		}
		c.lastDigest, c.lastDigestID = x, id
	}
	x.add(query, d)
	return x
}

// add adds a row of a query, with its digest.
func (x *Digest) add(query int, d int64) {
	x[query].N++
	x[query].Sum += d
}

// Rejected counts a row the decoder skipped into its lead's digest (source.Result.Rejected).
func (c *CRM) Rejected(query string, lead, digest int64) {
	if i := DigestIndex(query); i >= 0 {
		c.digest(lead, i, digest)
	}
}

// admit admits into the folder the label values the rows fed into the tallies use, most
// frequent first (see Folder). Tallies of disjoint sets of leads admit together, so that splitting
// the leads admits exactly what one tally of them all would.
func admit(folder *Folder, cs ...*CRM) {
	var a admission
	a.add(cs...)
	a.admit(folder, cs[0].cfg)
}

// admission adds up the label values tallies use, to admit them at once.
type admission struct {
	seen    seen
	reasons map[string]int
}

func (a *admission) add(cs ...*CRM) {
	if a.seen == nil {
		a.seen, a.reasons = seen{}, map[string]int{}
	}
	for _, c := range cs {
		for _, k := range c.kindSeen {
			if k.n > 0 {
				a.seen.counts(metrics.LabelKind)[k.kind] += k.n
			}
		}
		for label, values := range c.seen {
			for v, n := range values {
				if a.seen[label] == nil {
					a.seen[label] = map[string]int{}
				}
				a.seen[label][v] += n
			}
		}
		for _, l := range c.leads {
			if !l.disq.IsZero() {
				a.reasons[l.reason]++
			}
		}
		c.admitted = true
	}
}

func (a *admission) admit(folder *Folder, cfg *config.Config) {
	for _, d := range cfg.Dims {
		folder.Admit(d.Name, a.seen[d.Name])
	}
	for _, label := range []string{metrics.LabelKind, metrics.LabelOpportunityStage} {
		folder.Admit(label, a.seen[label])
	}
	folder.Admit(metrics.LabelDisqualifiedReason, a.reasons)
}

// NewCRM starts a tally at now. The Folder lives as long as the process (admission is sticky).
func NewCRM(cfg *config.Config, folder *Folder, now time.Time) *CRM {
	return &CRM{
		cfg: cfg, folder: folder, now: now, spans: cfg.Calendar.Spans(now), snap: newSnapshot(), seen: seen{},
		owners: map[int64]source.Owner{}, leads: map[int64]*lead{},
		orphans: map[int64]*reach{}, digests: map[int64]*Digest{}, ahead: map[int64]bool{}, volatile: map[int64]bool{}, waitOnly: map[int64]bool{}, waiters: map[int64]Waiter{}, arrivals: map[int64]Arrival{},
	}
}

// Volatile returns the ids of the leads (as the rows' lead_id: 0 for deals without one) whose
// numbers depended on the clock at the last finish and will change as time passes without any
// row changing: a row dated in the future, a clock start still to come, an open attempts
// window, a lead waiting for its first touch that depends on the clock for more than that (see
// Waiter). Every other lead's numbers stay as they are until one of its rows changes or the
// periods roll over, which is what lets the live tally keep them between polls.
func (c *CRM) Volatile() map[int64]bool { return c.volatile }

// dependsOnNow marks a lead as volatile.
func (c *CRM) dependsOnNow(lead int64) { c.volatile[lead] = true }

// rowAhead marks a lead volatile for a row dated in the future, left out of its numbers until its
// time comes: its facts say so (facts.volatile).
func (c *CRM) rowAhead(lead int64) {
	c.dependsOnNow(lead)
	c.ahead[lead] = true
}

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
func (c *CRM) UseTouches(x Touches) { c.touches = x }

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
	digest := c.digest(l.ID, DigestLeads, l.Digest)
	if _, dup := c.leads[l.ID]; dup {
		c.problemOf(l.ID, source.QueryLeads, CheckDuplicateID)
		return
	}
	if c.future(l.CreatedAt) {
		c.rowAhead(l.ID)
		c.problemOf(l.ID, source.QueryLeads, CheckTimestampInFuture)
		return
	}
	if outOfOrder(l.CreatedAt, l.MQLAt) || outOfOrder(l.MQLAt, l.SQLAt) || outOfOrder(l.CreatedAt, l.SQLAt) || outOfOrder(l.CreatedAt, l.DisqualifiedAt) {
		c.problemOf(l.ID, source.QueryLeads, CheckStageOutOfOrder)
	}
	// A stage dated in the future has not been entered yet: until its time comes the lead is
	// tallied without it, and again at every poll.
	for _, t := range []*time.Time{&l.MQLAt, &l.SQLAt, &l.DisqualifiedAt} {
		if c.future(*t) {
			*t = time.Time{}
			c.rowAhead(l.ID)
			c.problemOf(l.ID, source.QueryLeads, CheckTimestampInFuture)
		}
	}
	if l.DisqualifiedAt.IsZero() {
		l.DisqualifiedReason = ""
	}
	if strings.TrimSpace(l.Source) == "" {
		c.problemOf(l.ID, source.QueryLeads, CheckNullSource)
	}
	owner, hasOwner := c.owners[l.OwnerID]
	if l.OwnerID != 0 && !hasOwner {
		c.problemOf(l.ID, source.QueryLeads, CheckUnknownOwner)
	}
	ld := c.arena.lead()
	*ld = lead{
		reach: noReach, created: l.CreatedAt, mql: l.MQLAt, sql: l.SQLAt, disq: l.DisqualifiedAt,
		reason: clean(l.DisqualifiedReason), status: l.Status, source: clean(l.Source),
		region: clean(l.Region), segment: clean(l.Segment), owner: l.OwnerID, digest: digest,
	}
	c.place(ld)
	if c.seenDims == nil {
		for _, d := range c.cfg.Dims {
			c.seenDims = append(c.seenDims, c.seen.counts(d.Name))
		}
	}
	for i, d := range c.cfg.Dims {
		c.seenDims[i][ld.raw[i]]++
		switch d.Name {
		case metrics.DimOwner: // owner names are personal by design, and opt-in
		case metrics.DimSource:
			c.checkLabel(l.ID, l.Source)
		case metrics.DimRegion:
			c.checkLabel(l.ID, l.Region)
		case metrics.DimSegment:
			c.checkLabel(l.ID, l.Segment)
		case metrics.DimSalesTeam:
			c.checkLabel(l.ID, owner.SalesTeam)
		}
	}
	c.checkLabel(l.ID, l.DisqualifiedReason)
	c.leads[l.ID] = ld
}

// place gives a lead what it takes from its owner: its raw dimension values, in cfg.Dims order
// (the sales team and owner name are the owner's), and the business-hours calendar of the
// owner's region. An owner not among the owners counts as one with no team or region.
func (c *CRM) place(l *lead) {
	owner := c.owners[l.owner]
	l.raw = c.arena.raw(len(c.cfg.Dims))
	for i, d := range c.cfg.Dims {
		switch d.Name {
		case metrics.DimSource:
			l.raw[i] = l.source
		case metrics.DimRegion:
			l.raw[i] = l.region
		case metrics.DimSegment:
			l.raw[i] = l.segment
		case metrics.DimSalesTeam:
			l.raw[i] = clean(owner.SalesTeam)
		case metrics.DimOwner:
			l.raw[i] = clean(owner.Name)
		}
	}
	l.cal = c.cfg.Calendars.For(owner.Region) // the owner's region decides the business hours
}

// checkLabel reports a lead's raw label value that collides with Tandem's own "unknown" and
// "other", or that carries an e-mail address (clean has already folded it into "other").
func (c *CRM) checkLabel(id int64, v string) {
	switch t := strings.TrimSpace(v); {
	case strings.EqualFold(t, metrics.ValueUnknown) || strings.EqualFold(t, metrics.ValueOther):
		c.problemOf(id, source.QueryLeads, CheckReservedValue)
	case looksLikeEmail(t):
		c.problemOf(id, source.QueryLeads, CheckPersonalData)
	}
}

func (c *CRM) future(t time.Time) bool { return !t.IsZero() && t.After(c.now.Add(FutureTolerance)) }

// outOfOrder reports a later stage's time before an earlier one's (both set).
func outOfOrder(earlier, later time.Time) bool {
	return !earlier.IsZero() && !later.IsZero() && later.Before(earlier)
}

// Activity adds a sales touch.
func (c *CRM) Activity(a source.Activity) {
	l := c.lastLead
	if l == nil || c.lastLeadID != a.LeadID {
		if l = c.leads[a.LeadID]; l != nil {
			c.lastLead, c.lastLeadID = l, a.LeadID
		}
	}
	if l != nil && l.digest != nil {
		// The lead's own sums, without a lookup: a lead's activities come after its row.
		l.digest.add(DigestActivities, a.Digest)
	} else {
		c.digest(a.LeadID, DigestActivities, a.Digest)
	}
	if !c.unique {
		if !c.actIDs.add(a.ID) {
			c.problemOf(a.LeadID, source.QueryActivities, CheckDuplicateID)
			return
		}
	}
	if l == nil {
		c.problemOf(a.LeadID, source.QueryActivities, CheckActivityUnknownLead)
		return
	}
	if a.OccurredAt.Before(l.created) {
		c.problemOf(a.LeadID, source.QueryActivities, CheckActivityBeforeLead)
		return
	}
	if c.future(a.OccurredAt) {
		c.rowAhead(a.LeadID)
		c.problemOf(a.LeadID, source.QueryActivities, CheckTimestampInFuture)
		return
	}
	k := c.kinds.get(a.Kind, c.kindOf)
	kind := k.kind
	if l.touches == nil && c.arena != nil {
		// Room for a few kinds and windows in the round's arena: grown on the heap, a lead's
		// list was 0.13 GB of a 1M cold start's allocations.
		l.touches = c.arena.kindCounts(4)[:0]
	}
	l.touch(kind, c.of(a.LeadID, l, a.OccurredAt))
	c.kindSeen[k.seen].n++
	if k.touch {
		l.qualifyingTouch(a.OccurredAt, c.clockStart(l), c.cfg.SLA.Attempts)
	}
}

// activityKind is what a raw activity kind stands for: its label value, and whether it counts as
// a follow-up touch (sla.touch_kinds).
type activityKind struct {
	kind  string
	touch bool
	seen  int32 // its index in CRM.kindSeen
}

// kindOf folds a raw activity kind (CRM.kinds caches it).
func (c *CRM) kindOf(raw string) activityKind {
	kind := strings.ToLower(clean(raw))
	i, ok := c.kindIndex[kind]
	if !ok {
		if c.kindIndex == nil {
			c.kindIndex = map[string]int32{}
		}
		i = int32(len(c.kindSeen))
		c.kindIndex[kind] = i
		c.kindSeen = append(c.kindSeen, kindSeen{kind: kind})
	}
	return activityKind{kind, c.cfg.TouchKind[kind], i}
}

// kindSeen counts the activities of one kind label value: seen's count, added to it only when
// the values are admitted (admission.add). Counted in seen's map, each of a cold start's 5M
// activities cost a string hash (0.1 s of its CPU at a million leads).
type kindSeen struct {
	kind string
	n    int
}

// carry puts into the tally what a lead's activities and deals made of it, from its facts instead
// of their rows, once its own row has been fed: LiveCRM.Known has checked that nothing they made
// of it depends on what changed in its row. Their timestamps' reach is the facts' (a superset of
// what they alone would note: the lead's old timestamps are in it, which can only make a
// roll-over recount the lead once more).
func (c *CRM) carry(id int64, f *facts) {
	l, old := c.leads[id], f.lead
	if l == nil || old == nil {
		panic("tally: carried a lead without its row or facts") // Known checks both
	}
	l.touches = slices.Clone(old.touches)
	for _, t := range l.touches {
		c.seen.note(metrics.LabelKind, t.kind)
	}
	l.firstTouch, l.firstAny, l.attempts = old.firstTouch, old.firstAny, old.attempts
	l.reach.past, l.reach.ahead = max(l.reach.past, f.reach.past), min(l.reach.ahead, f.reach.ahead)
	d := c.digests[id]
	d[DigestActivities], d[DigestOpportunities] = f.digest[DigestActivities], f.digest[DigestOpportunities]
	for _, p := range f.problems {
		if p.Query == source.QueryActivities || p.Query == source.QueryOpportunities {
			c.problems = append(c.problems, leadProblem{id, p})
		}
	}
	for _, o := range f.deals {
		o.raw = l.raw
		l.deal(o)
		if !o.isClosed {
			c.seen.note(metrics.LabelOpportunityStage, o.stage)
		}
		c.opps = append(c.opps, o)
	}
}

// Opportunity adds a deal.
func (c *CRM) Opportunity(o source.Opportunity) {
	c.digest(o.LeadID, DigestOpportunities, o.Digest)
	if !c.unique {
		if !c.oppIDs.add(o.ID) {
			c.problemOf(o.LeadID, source.QueryOpportunities, CheckDuplicateID)
			return
		}
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
		c.rowAhead(o.LeadID)
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
		l.deal(op)
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

// labels returns a lead's published dimension values: the sales dimensions, and source with
// them (see metrics.Dims).
func (c *CRM) labels(raw []string) (sales, lead []string) {
	sales = make([]string, len(c.cfg.SalesIdx))
	for i, k := range c.cfg.SalesIdx {
		sales[i] = c.folder.Value(c.cfg.Dims[k].Name, raw[k])
	}
	lead = make([]string, len(c.cfg.LeadIdx))
	for i, k := range c.cfg.LeadIdx {
		lead[i] = c.folder.Value(c.cfg.Dims[k].Name, raw[k])
	}
	return sales, lead
}

// in adds n to a period metric in every window of m: labels are the labels after the period.
func (c *CRM) in(s *Snapshot, m fiscal.Mask, name string, n int64, labels ...string) {
	if c.lines != nil && m != 0 {
		// While finishRows runs, through its lines (inLine): a lookup for the tuple and one for
		// the mask, not one a window. The campaign and deal numbers came here a few times a
		// lead: 0.8 s of a 1M cold start's 13 s of CPU, in five window lookups each.
		c.inLine(s, m, name, "", false, c.lines.tupleOf(labels), n, 1)
		return
	}
	inWindows(s, c.spans, m, name, n, 1, labels)
}

func inWindows(s *Snapshot, spans fiscal.Spans, m fiscal.Mask, name string, n, rows int64, labels []string) {
	if m == 0 {
		return
	}
	l := append([]string{""}, labels...)
	m.Each(func(i int) {
		l[0] = string(spans[i].Window)
		s.addRows(name, n, rows, l...)
	})
}

// Finish computes the snapshot to publish.
func (c *CRM) Finish() *Snapshot {
	s, vs := c.finishRows()
	s.merge(vs, 1)
	for _, w := range c.waiters {
		w.Add(s, c.cfg, c.now, c.spans)
	}
	for _, a := range c.arrivals {
		a.Add(s, c.now)
	}
	c.globals(s)
	s.publish()
	return s
}

// DimNames returns the enabled lead dimension label names, in label order.
func DimNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Dims))
	for i, d := range cfg.Dims {
		out[i] = d.Name
	}
	return out
}
