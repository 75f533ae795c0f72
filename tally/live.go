package tally

import (
	"cmp"
	"maps"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/tandem-oss/tandem/config"
	"github.com/tandem-oss/tandem/fiscal"
	"github.com/tandem-oss/tandem/source"
)

// The live tallies keep a poll's numbers between polls and update them from the rows that
// changed, so a poll of a CRM with millions of rows costs what changed, not what exists.
//
// They rely on one property of the batch tallies (CRM, Campaigns): every number they publish is a
// sum of independent contributions — one per lead (with its activities, deals and marketing
// touches; deals without a lead count under their lead id, 0 for none) on the CRM side, one per
// row on the campaign side — each put in the windows (today, this quarter...) its event
// timestamps fall in. A changed lead's old contribution is computed by the batch tally from its
// old rows and subtracted, its new one computed from its new rows and added. The batch tally is
// the only place the rules live; the live tally only decides which rows to run it on.
//
// What moves with the clock rather than with rows is not kept: the leads whose numbers depend on
// the clock (CRM.Volatile: future-dated rows, a clock start still to come, open attempts windows)
// are tallied again at every poll; a lead that only waits for its first touch keeps its other
// numbers in the sums and its follow-up numbers are evaluated at every poll (Waiter), as are the
// recent marketing leads of the inflow windows (Arrival); the globals (targets, period bounds) are
// recomputed. When a day (week, month...) ends, the sums move to the windows their periods now are
// (Snapshot.roll: yesterday is the day that was today) and only the leads with a timestamp in the
// new periods are recomputed (see reach). Everything is recomputed from scratch when something
// every lead depends on changes: an owner, a campaign's labels; and when the new periods hold many
// of the leads (after the clock jumped), or the clock went back.

// CRMRows is where the live CRM tally reads rows: the poller's mirror of the CRM database.
type CRMRows interface {
	EachOwner(func(source.Owner))
	EachLead(func(source.Lead))
	EachActivity(func(source.Activity))
	EachOpportunity(func(source.Opportunity))
	Lead(id int64) (source.Lead, bool)
	// ActivitiesOf and OpportunitiesOf give the rows whose lead_id is lead (lead may not exist).
	ActivitiesOf(lead int64, fn func(source.Activity))
	OpportunitiesOf(lead int64, fn func(source.Opportunity))
}

// LiveCRM is the CRM tally kept between polls.
type LiveCRM struct {
	cfg      *config.Config
	folder   *Folder
	feed     *TouchFeed // nil without a campaign database
	touches  Touches    // the campaign side's, with its labels as the last poll took them
	refs     map[int64]CampaignRef
	base     *Snapshot  // the stable leads' contributions
	facts    *factStore // what each stable lead's rows made of it: its old numbers, when they change
	owners   map[int64]source.Owner
	volatile map[int64]bool
	waiters  map[int64]Waiter  // leads waiting for a first touch: their follow-up numbers only
	arrivals map[int64]Arrival // recent marketing leads: their inflow numbers only
	spans    fiscal.Spans
	now      time.Time // the last poll's instant
	total    int       // the leads of the last full recount
	// Rebuilds counts the polls that recomputed every lead (the first, and after a change every
	// lead depends on); Recomputed the leads recomputed by the last poll.
	Rebuilds   uint64
	Recomputed int
	// Carried is how many of the last poll's recomputed leads were carried (Plan.Carry).
	Carried    int
	roundLeads int // rebuildLeads unless set (tests)
	// CheckIDs is set when rows come from the database as read (the poller's): their ids may
	// repeat, and the tally checks them. Rows kept by id (the backfill's) cannot.
	CheckIDs bool
	// idSets holds the tables of the rounds' repeated-id checks (CRM.actIDs) once their rows
	// are in, for the next rounds: a table grown afresh each round, in memory new to the
	// process, was three quarters of the check's cost (0.38 s of 0.52 s at a million leads).
	idSets sync.Pool
	// arenas holds the factsArenas of a full recount's first-pass rounds once their facts are
	// stored (roundArena, release), while a full recount runs (all). Not a sync.Pool, which a
	// collection empties: a cold start collects some thirty times, and each time the rounds'
	// arenas were made again (0.16 GB). Let go of after: kept, they were megabytes held for
	// nothing until the next full recount.
	arenas chan *factsArena
}

// NewLiveCRM starts a live tally. feed brings the campaign database's touches; nil when none is
// polled.
func NewLiveCRM(cfg *config.Config, folder *Folder, feed *TouchFeed) *LiveCRM {
	return &LiveCRM{cfg: cfg, folder: folder, feed: feed}
}

// Built reports whether a first poll has been tallied; before it, callers need not collect
// which leads changed (every lead is tallied).
func (l *LiveCRM) Built() bool { return l.base != nil }

// Update tallies a poll at now from rows that hold every row (the backfill's, the tests'): Plan,
// then apply (which applies the poll's changes to rows), then Apply. dirty holds the leads whose
// rows change in this poll (a lead's own row, or an activity or deal moving to or from it);
// rebuild asks for every lead to be recomputed (an owner changed). The returned snapshot is the
// caller's to publish.
func (l *LiveCRM) Update(rows CRMRows, dirty map[int64]bool, rebuild bool, apply func(), now time.Time) *Snapshot {
	return l.UpdateKnown(rows, dirty, nil, rebuild, apply, now)
}

// UpdateKnown is Update told which dirty leads changed only in their own row, and to what
// (Known).
func (l *LiveCRM) UpdateKnown(rows CRMRows, dirty map[int64]bool, known map[int64]source.Lead, rebuild bool, apply func(), now time.Time) *Snapshot {
	p := l.Plan(dirty, rebuild, now)
	l.Known(p, known)
	apply()
	s, err := l.Apply(p, rows)
	if err != nil {
		panic(err) // rows in memory do not fail
	}
	return s
}

// Plan is what a poll must read for the live tally: every row (Rebuild), or the rows of Leads.
type Plan struct {
	// Rebuild is set when every lead is recomputed: the first poll, a change every lead depends
	// on (an owner, a campaign's labels), or periods rolling over onto many leads.
	Rebuild bool
	// Leads are the leads recomputed otherwise: those whose rows changed, those whose numbers
	// move with the clock (CRM.Volatile), those with a timestamp in a period that just began, and
	// those whose marketing touches changed. Their rows, and only theirs, are what Apply reads.
	Leads map[int64]bool
	// Known are the leads among Leads whose own row the caller has already read (Known), and
	// Carry those among them whose activities and deals need no reading either.
	Known, Carry map[int64]bool
	// old are the stable ones among Leads: their numbers in base come out first.
	old    map[int64]bool
	rolled map[int64]bool // the leads a roll-over recomputes
	now    time.Time
	spans  fiscal.Spans
	from   []int     // the roll-over's windows (fiscal.Spans.Roll)
	news   touchNews // from the campaign side
	// canLate is set for a first tally planned before the campaign side's first poll is over:
	// with WaitTouches set, Apply reads the CRM's rows meanwhile and joins the touches once they
	// are in (see all).
	canLate bool
	// WaitTouches, set by the caller of a plan that can be late, waits for the campaign side's
	// first poll (TouchFeed.Settled) and fails when the poll is abandoned (shutdown).
	WaitTouches func() error
}

// CanBeLate reports whether the plan is a first tally that need not wait for the campaign side's
// first touches before it reads the CRM's rows: it does not if the caller sets WaitTouches.
func (p *Plan) CanBeLate() bool { return p.canLate }

func (p *Plan) late() bool { return p.canLate && p.WaitTouches != nil }

// Plan works out what a poll at now recomputes; dirty holds the leads whose rows changed since
// the last poll (see Update). It changes nothing: a poll that fails after it leaves the tally as
// it was.
func (l *LiveCRM) Plan(dirty map[int64]bool, rebuild bool, now time.Time) *Plan {
	p := &Plan{now: now, spans: l.cfg.Calendar.Spans(now)}
	if l.feed != nil {
		p.news = l.feed.peek()
		p.canLate = l.base == nil && !l.feed.isSettled()
	}
	var rolled map[int64]bool
	switch {
	case l.base == nil, rebuild:
		rebuild = true
	case p.news.pushed != (l.touches != nil):
		rebuild = true
	case p.news.pushed && (p.news.all > 0 || !maps.Equal(p.news.refs, l.refs)):
		rebuild = true // a campaign's labels changed (every lead it touched), or every touch
	case !p.spans.Equal(l.spans):
		rolled, p.from = l.rolled(p.spans, now)
		rebuild = rolled == nil
	}
	p.Rebuild = rebuild
	if rebuild {
		return p
	}
	p.rolled = rolled
	p.old = maps.Clone(dirty)
	maps.Copy(p.old, p.news.changed)
	maps.Copy(p.old, rolled)
	p.Leads = maps.Clone(p.old)
	for id := range l.volatile {
		delete(p.old, id) // a volatile lead's share is not in base
		p.Leads[id] = true
	}
	return p
}

// Known tells a plan the new rows of changed leads whose own row is all that changed: none of
// their activities and deals did (the poller's delta of the leads query gives them). A lead whose
// facts say it had exactly that one row is marked Known: its row is not read again. A Known lead
// is also marked Carry when what its activities and deals made of it cannot have changed with
// its row, so that its facts stand for them: its creation and its SLA clock start are the same,
// nothing of it moves with the clock, and it is not recomputed for a roll-over. At a million
// leads this saves a steady-state poll most of its reading: the activities of the changed leads
// are most of the rows it reads.
func (l *LiveCRM) Known(p *Plan, known map[int64]source.Lead) {
	if p.Rebuild || len(known) == 0 {
		return
	}
	p.Known, p.Carry = map[int64]bool{}, map[int64]bool{}
	// The facts read here are read again by Apply, which ends the memo (recordMemo).
	l.facts.memoize(true)
	c := l.tally(p.now) // for its rules only: the clock start, what is dated in the future
	for id, nl := range known {
		if !p.Leads[id] || nl.ID != id {
			continue
		}
		f, ok := l.facts.Get(id)
		if !ok {
			p.Known[id] = true // new to the tally: no other row of it was ever read
			continue
		}
		if f.lead == nil || f.digest[DigestLeads].N != 1 {
			continue // a repeated or skipped row: every row of the lead is read
		}
		p.Known[id] = true
		if l.volatile[id] || p.rolled[id] || f.volatile || f.reach.ahead <= p.now.Unix() {
			continue // its activities' timestamps are to be placed in windows again
		}
		if !nl.CreatedAt.Equal(f.lead.created) || c.future(nl.CreatedAt) {
			continue
		}
		start := c.clockStart(&lead{created: nl.CreatedAt, mql: nl.MQLAt, sql: nl.SQLAt})
		if !start.Equal(c.clockStart(f.lead)) || c.future(start) {
			continue
		}
		if slices.ContainsFunc(f.deals, func(o opportunity) bool { return o.leadID == 0 }) {
			continue
		}
		p.Carry[id] = true
	}
}

// Apply tallies a poll planned by Plan from rows, which hold every row after a rebuild's plan and
// at least the planned leads' otherwise. It fails only when rows do (Err): the tally then
// recomputes every lead at the next poll.
func (l *LiveCRM) Apply(p *Plan, rows CRMRows) (*Snapshot, error) {
	if l.facts != nil {
		defer l.facts.memoize(false) // the store it memoized (a rebuild replaces it)
	}
	if l.feed != nil && !p.late() {
		l.feed.take(p.news)
	}
	now, spans := p.now, p.spans
	if !p.Rebuild {
		if len(p.old) > 0 {
			// Their numbers as base holds them: tallied at the last poll's instant, in its
			// windows, from the facts kept of their rows before this poll's changes. Stable
			// leads stay stable as time passes (see CRM.Volatile), so vs is empty here.
			o := l.some(p.old, l.now, l.fromFacts, nil)
			l.base.merge(o.s, -1)
			l.base.merge(o.vs, -1)
		}
		if p.from != nil {
			l.base.roll(l.spans, spans, p.from) // what the other leads put in the windows, moved over
			l.facts.roll(p.from)                // and the windows their facts count touches in
		}
		// A waiting lead that nothing about moves with the clock any more (abandoned, past its
		// deadline) joins base for good, unless it is recomputed anyway.
		for id, w := range l.waiters {
			if !p.old[id] && w.Settled(l.cfg, now) {
				w.Add(l.base, l.cfg, now, spans)
				delete(l.waiters, id)
			}
		}
	}
	l.owners = ownersOf(rows)
	l.touches, l.refs = nil, nil
	if !p.late() {
		l.useNews(p.news)
	}

	// The volatile leads' share (vs) is recomputed at every poll and never kept in base.
	var f finished
	fromRows := func(c *CRM, ids map[int64]bool) { feedLeads(c, rows, ids, p.Carry, l.facts) }
	if p.Rebuild {
		l.Rebuilds++
		var store *factStore
		var err error
		f, store, err = l.all(rows, now, p)
		if err == nil {
			err = rowsErr(rows)
		}
		if err != nil {
			l.base = nil // half read: the next poll recomputes every lead
			return nil, err
		}
		l.facts = store
		l.base, l.waiters, l.arrivals, l.total = f.s, f.waiters, f.arrivals, f.leads
	} else {
		kept := map[int64]*facts{}
		f = l.some(p.Leads, now, fromRows, func(id int64, x *facts) { kept[id] = x })
		for id := range p.Leads {
			if x, ok := kept[id]; ok {
				l.facts.Put(id, x)
			} else {
				l.facts.Delete(id) // gone, or volatile now
			}
		}
		l.base.merge(f.s, 1)
		for id := range p.Leads {
			delete(l.waiters, id)
			delete(l.arrivals, id)
		}
		maps.Copy(l.waiters, f.waiters)
		maps.Copy(l.arrivals, f.arrivals)
	}
	l.volatile, l.spans, l.now, l.Recomputed, l.Carried = f.volatile, spans, now, f.leads, len(p.Carry)
	vs := f.vs
	// The numbers that move with the clock, at now.
	for _, w := range l.waiters {
		w.Add(vs, l.cfg, now, spans)
	}
	for id, a := range l.arrivals {
		if a.Gone(now) {
			delete(l.arrivals, id)
			continue
		}
		a.Add(vs, now)
	}

	out := l.base.clonePublished()
	out.merge(vs, 1)
	NewCRM(l.cfg, l.folder, now).globals(out)
	out.publish()
	return out, nil
}

// useNews makes the campaign side's news the touches and campaign labels the tally reads.
func (l *LiveCRM) useNews(n touchNews) { l.touches, l.refs = n.touches(), n.refs }

// touches is what the CRM tally reads of the campaign side's touches, nil before its first poll.
func (n touchNews) touches() Touches {
	if !n.pushed {
		return nil
	}
	return withRefs{n.store, n.refs}
}

// rowsErr is the error rows met reading the database, if they read one (a poller's rows).
func rowsErr(rows any) error {
	if e, ok := rows.(interface{ Err() error }); ok {
		return e.Err()
	}
	return nil
}

// Digests calls fn with the digest of every entity's rows as the last poll left them, for a
// reconciliation to compare with the database's.
func (l *LiveCRM) Digests(fn func(id int64, d Digest)) {
	if l.facts != nil {
		l.facts.eachDigest(fn)
	}
}

// ownersOf reads the owners (the first of a repeated id, as CRM.Owner keeps).
func ownersOf(rows CRMRows) map[int64]source.Owner {
	out := map[int64]source.Owner{}
	rows.EachOwner(func(o source.Owner) {
		if _, dup := out[o.ID]; !dup {
			out[o.ID] = o
		}
	})
	return out
}

// rolled returns the stable leads whose numbers the windows rolling over from the last poll's to
// spans can change, and how the windows map (fiscal.Spans.Roll): the others' numbers move over
// whole (Snapshot.roll), and only the leads with a timestamp that may fall in a fresh period (a
// deal expected to close this week, on a Monday) are recounted. It returns nil, for a recount of
// every lead, when they are many (more than a third: recomputing a set of leads reads each one's
// rows by lead and takes its old numbers out first, about twice a full recount's cost per lead),
// or when the clock went back (the notes assume it moves forward).
func (l *LiveCRM) rolled(spans fiscal.Spans, now time.Time) (map[int64]bool, []int) {
	if now.Before(l.now) {
		return nil, nil
	}
	from, fresh, ok := l.spans.Roll(spans)
	ids := map[int64]bool{}
	if !ok {
		return ids, from
	}
	lo, hi := fresh.Start.Unix(), fresh.End.Unix()
	many := false
	l.facts.eachReach(func(id int64, r reach) bool {
		if r.within(lo, hi) {
			ids[id] = true
			many = len(ids) > l.total/3
		}
		return !many
	})
	if many {
		return nil, nil
	}
	return ids, from
}

// tally starts a batch tally at now with the owners.
func (l *LiveCRM) tally(now time.Time) *CRM {
	c := NewCRM(l.cfg, l.folder, now)
	c.unique = !l.CheckIDs
	c.owners = l.owners
	if l.touches != nil {
		c.UseTouches(l.touches)
	}
	return c
}

// fromFacts feeds a tally the facts kept of the given leads.
func (l *LiveCRM) fromFacts(c *CRM, ids map[int64]bool) {
	for id := range ids {
		if f, ok := l.facts.Get(id); ok {
			c.load(id, f)
		}
	}
}

// feedLeads feeds the given leads' rows into a tally; for a carried lead (Plan.Carry), its own
// row and, from its facts, what its activities and deals made of it.
func feedLeads(c *CRM, rows CRMRows, ids, carry map[int64]bool, facts *factStore) {
	all, repeats := rows.(interface {
		LeadsOf(int64, func(source.Lead))
	})
	rej, rejects := rows.(interface {
		RejectedOf(int64, func(query string, digest int64))
	})
	for id := range ids {
		if repeats { // rows read from a database may repeat an id: CRM.Lead counts it
			all.LeadsOf(id, c.Lead)
		} else if ld, ok := rows.Lead(id); ok {
			c.Lead(ld) // the lead before what refers to it
		}
		if carry[id] {
			// Decoded again, not kept from Known: Apply rolls the store's windows in between.
			f, _ := facts.Get(id)
			c.carry(id, f)
			continue
		}
		rows.ActivitiesOf(id, c.Activity)
		rows.OpportunitiesOf(id, c.Opportunity)
		if rejects {
			rej.RejectedOf(id, func(query string, digest int64) { c.Rejected(query, id, digest) })
		}
	}
}

// some tallies the given leads, each tally fed its share of them by feed: over several cores
// when they are many, and in rounds of rebuildLeads at most, like a full recount, when they are
// more (a roll-over's). keep, when set, is given the facts of every stable lead tallied.
func (l *LiveCRM) some(ids map[int64]bool, now time.Time, feed func(*CRM, map[int64]bool), keep func(int64, *facts)) finished {
	per := rebuildLeads()
	if l.roundLeads > 0 {
		per = l.roundLeads
	}
	if len(ids) <= per {
		return l.finish(l.parts(ids, now, feed), keep)
	}
	var total finished
	round := map[int64]bool{}
	for id := range ids {
		if round[id] = true; len(round) == per {
			total.add(l.finish(l.parts(round, now, feed), keep))
			round = map[int64]bool{}
		}
	}
	if len(round) > 0 {
		total.add(l.finish(l.parts(round, now, feed), keep))
	}
	return total
}

// parts runs tallies of the given leads over several cores when they are many (a roll-over's),
// each tally taking a share of them.
func (l *LiveCRM) parts(ids map[int64]bool, now time.Time, feed func(*CRM, map[int64]bool)) []*CRM {
	least := partLeads
	if l.roundLeads > 0 {
		least = 2 // tests: a few leads go over several cores as well
	}
	n := min(cores(), len(ids)/least)
	if n <= 1 {
		c := l.tally(now)
		feed(c, ids)
		return []*CRM{c}
	}
	shares := make([]map[int64]bool, n)
	for i := range shares {
		shares[i] = make(map[int64]bool, len(ids)/n+1)
	}
	i := 0
	for id := range ids {
		shares[i%n][id] = true
		i++
	}
	return l.parallel(now, n, func(i int, c *CRM) { feed(c, shares[i]) })
}

// partLeads is the fewest leads worth a core of their own.
const partLeads = 1024

// rebuildLeads is how many leads a full recount holds at once, in each of its two passes:
// roundPerCore a core. A lead being tallied takes about 480 bytes (its timestamps, labels,
// touches by window), and decoded again from its facts for its numbers about 700: a million at
// once was the largest part of a cold start's peak heap, and at 131,072 a round still held 63
// MB. Past this many leads the recount goes in rounds, each read by lead_id range; two rounds
// are held at once (one read while the other is stored). A round's fixed cost (a snapshot to
// merge) is small beside its leads': at a million leads on 2 cores, rounds of 4,096 leads took
// no longer than rounds of 16,384 (cold start 8.5-8.7 s against 8.9-9.0 s), and under
// GOMEMLIMIT=140MiB the cold start took 9.6 s instead of 11.7 s, at a peak RSS 9 MiB lower.
func rebuildLeads() int { return roundPerCore * cores() }

const roundPerCore = 1 << 11

// cores is how many tallies a full recount runs at once.
func cores() int { return min(runtime.GOMAXPROCS(0), 8) }

// all recounts every lead from every row: the first poll, and a change every lead depends on.
// Label values are admitted most frequent first over every lead before any is published, so it
// goes in two passes, neither holding every lead's rows at once:
//
//  1. the rows, in rounds of rebuildLeads leads at most, each round's leads split into one
//     tally per core (a range of lead ids each, when rows can give them): each tally folds its
//     rows into its leads' facts, which go into a new store, and counts their label values;
//  2. once the values are admitted, the numbers: the facts again, in rounds as large, a
//     share of a round per core, each lead's timestamps noted into its facts as the numbers put
//     them in windows.
//
// A lead's numbers from its facts equal those from its rows (the live tally takes a changed
// lead's old numbers out the same way), so the rows are read once.
func (l *LiveCRM) all(rows CRMRows, now time.Time, p *Plan) (finished, *factStore, error) {
	per := rebuildLeads()
	if l.roundLeads > 0 {
		per = l.roundLeads
	}
	var ids []int64
	add := func(id int64) { ids = appendDoubling(ids, id) } // a million ids: 38 MB allocated by append, 16 by this
	rr, ranged := rows.(RangeRows)
	if ranged {
		rr.LeadIDs(add)
	} else {
		rows.EachLead(func(x source.Lead) { add(x.ID) })
	}
	n := cores()
	// A round is read while the last is stored: the arenas of the rounds stored are kept for
	// the next, two rounds' worth. With one round's room, a round stored before the reader's
	// tallies had taken the last round's arenas found no room for its own and dropped them, and
	// the reader then made new ones: 43 of 488 at a million leads, a tenth of the cold start's
	// allocations.
	l.arenas = make(chan *factsArena, 2*n)
	defer func() { l.arenas = nil }()
	rounds := max(1, (len(ids)+per-1)/per)
	round := l.moduloRound(rows, now, n, rounds)
	switch {
	case ranged && rr.Ranged():
		round = l.rangeRound(rr, now, n, rounds, ids)
	case ranged: // ids that do not order as the database orders them (text ids): one range
		rounds = 1
		round = l.rangeRound(rr, now, 1, 1, nil)
	}
	store := newFactStore(now)
	// Every lead's and, past them, those of the rows of no known lead (a few, most often).
	store.reserve(len(ids) + len(ids)/64)
	ids = nil
	store.lazy = true // the joins below rewrite half the records: compacted in batches (logStore.lazy)
	var a admission
	// The next round is read while this one's facts are stored (one goroutine: storing is
	// serial, since the store's index grows at its end), so no core waits: two rounds at most
	// are held at once.
	next := make(chan []*CRM)
	go func() {
		defer close(next)
		for r := range rounds {
			next <- round(r)
		}
	}()
	// A late plan (a cold start) reads the CRM's rows while the campaign side's first poll is
	// still running: the rounds stored before its touches are in are joined to them after.
	late := p.late()
	ready := !late
	var touches Touches
	// The leads stored before the touches were in are the first of the store's index (rounds
	// by range are stored in order), those at positions [joinFrom, joinTo) not joined yet. Kept
	// as positions, not ids: a list of the ids was 8 MB at a million leads, held through the
	// whole first pass.
	var joinFrom, joinTo int
	take := func() {
		p.news = l.feed.peek()
		l.feed.take(p.news)
		touches, ready = p.news.touches(), true
	}
	if late && !ranged {
		// Rounds by id modulo are stored out of order, which moves the positions of the leads
		// stored before the touches: these rows wait for the touches before any is stored.
		if !l.feed.isSettled() {
			if err := p.WaitTouches(); err != nil {
				for range next {
				}
				return finished{}, nil, err
			}
		}
		take()
	}
	// Once the touches are in, the rounds stored before them are joined to them while the reader
	// reads the next round (this goroutine waits for it otherwise): joined after the last round,
	// they were a second of one core's work at a million leads, the other core idle.
	joined := false
	var order []int64 // a round's entities' ids, in the order they are stored
	var joinArena factsArena
	batch := make([]storedAt, 0, joinBatch)
	joinSome := func() {
		hi := min(joinFrom+joinBatch, joinTo)
		store.eachAt(joinFrom, hi, func(i int, id int64, p uint32) { batch = append(batch, storedAt{i, id, p}) })
		joinStored(store, batch, touches, &joinArena)
		batch, joinFrom, joined = batch[:0], hi, true
	}
	for {
		var cs []*CRM
		var more bool
		if late && ready && touches != nil && joinFrom < joinTo {
			select {
			case cs, more = <-next:
			default:
				joinSome()
				continue
			}
		} else {
			cs, more = <-next
		}
		if !more {
			break
		}
		if !ready && l.feed.isSettled() {
			take()
		}
		a.add(cs...)
		for _, c := range cs { // ranges in order: the store's index grows at its end
			if late && ready && touches != nil {
				c.UseTouches(touches)
			}
			if ready {
				c.joinTouches()
			}
			es := c.entities()
			order = slices.AppendSeq(order[:0], maps.Keys(es)) // kept from round to round
			slices.Sort(order)
			for _, id := range order {
				store.Put(id, es[id])
			}
			if !ready {
				joinTo = store.settleIndex() // in order: nothing to settle, only the length
			}
			l.release(c) // its facts are in the store
		}
	}
	if !ready {
		if err := p.WaitTouches(); err != nil {
			for range next { // the reader's last rounds, if it still runs
			}
			return finished{}, nil, err
		}
		take()
	}
	if late {
		l.useNews(p.news) // the reader is done: the tallies of the second pass read them
		for touches != nil && joinFrom < joinTo {
			joinSome()
		}
		if joined {
			store.tidy() // the joined leads' first records are dead space now: one pass
		}
	}
	l.arenas, joinArena = nil, factsArena{} // the first pass's: let go of before the second
	a.admit(l.folder, l.cfg)

	// The ids are walked in the store's own index, not copied out of it (40 MB at five million
	// leads, held through the whole pass).
	size := store.settleIndex()
	// One worker per core, each with a contiguous share of the leads, numbered in rounds of its
	// share of per leads and added into a total of its own; the totals are added once at the
	// end. Rounds shared by every core, added up after each, kept one core waiting on the other
	// and on the additions: 1.3 cores of 2 busy during this pass, at a million leads.
	k := max(1, min(n, size/partLeads))
	if l.roundLeads > 0 {
		k = max(1, min(n, size/2)) // tests: a few leads go over several cores as well
	}
	totals := make([]finished, k)
	var wg sync.WaitGroup
	for w := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			step := max(1, per/k)
			// The round's ids, in order, their positions in the index and where their records
			// are: nothing moves a record during this pass (setReach writes beside it), so the
			// index is searched for none. Sealed records are read through this worker's own cache.
			round, index, recs := make([]int64, 0, step), make([]int, 0, step), make([]uint32, 0, step)
			var fc frameCache
			// Every round adds to this worker's total snapshot, not to one of its own merged after,
			// through the same lines (which find its series): the series and the lines were made
			// again each round, 0.7 GB of allocations in a 1M cold start.
			var ls *lines
			var arena factsArena // the round's facts, decoded into blocks each round reuses
			number := func() {
				c := l.tally(now)
				if t := totals[w].s; t != nil {
					c.snap = t
				}
				arena.reset()
				c.useArena(&arena)
				for i, id := range round {
					c.load(id, store.at(id, recs[i], store.reachAt(index[i]), &fc, &arena))
				}
				c.admitted = true
				if ls == nil {
					ls = newLines(c.spans)
				}
				c.lines = ls
				s, vs := c.finishRows()
				c.keepOpps()
				totals[w].add(finished{s: s, vs: vs, volatile: c.Volatile(), waiters: c.Waiters(), arrivals: c.Arrivals(), leads: len(c.leads)})
				c.reachesOf(func(id int64, r reach) { // the lead's own record: no other worker touches it
					if i, ok := slices.BinarySearch(round, id); ok {
						store.setReachAt(index[i], r)
					} else {
						store.setReach(id, r)
					}
				})
				round, index, recs = round[:0], index[:0], recs[:0]
			}
			store.eachAt(w*size/k, (w+1)*size/k, func(i int, id int64, p uint32) {
				if round, index, recs = append(round, id), append(index, i), append(recs, p); len(round) == step {
					number()
				}
			})
			if len(round) > 0 {
				number()
			}
			if t := totals[w]; t.s != nil { // on this core: the totals then add up without staging
				t.s.settle()
				t.vs.settle()
			}
		}()
	}
	wg.Wait()
	var total finished
	for _, t := range totals {
		if t.s != nil {
			total.add(t)
		}
	}
	if total.s == nil { // no entity at all
		total = l.finishAdmitted([]*CRM{l.tally(now)}, nil)
	}
	store.lazy = false
	store.tidy() // whatever the second pass left dead (nothing, most often)
	store.clip()
	return total, store, nil
}

// joinBatch is how many stored leads are joined to their touches at a time while the reader
// reads a round.
const joinBatch = 2048

// storedAt is where eachAt found an entity: its position in the index, and its record's.
type storedAt struct {
	i  int
	id int64
	p  uint32
}

// joinStored adds to the stored facts of leads stored before the campaign side's touches were
// in what their touches make of them (CRM.joinTouches). They are read and written again where
// eachAt found them, without searching the index: nothing here moves an id in it.
func joinStored(store *factStore, at []storedAt, touches Touches, a *factsArena) {
	var buf []Touch
	var fc frameCache
	for _, x := range at {
		a.reset() // each lead's facts are decoded, then written again at once
		f := store.at(x.id, x.p, store.reachAt(x.i), &fc, a)
		if f.lead == nil || f.lead.mkt != nil {
			continue
		}
		for _, o := range f.deals {
			if o.leadID == x.id {
				f.lead.opps++ // what joinTouches reads of its deals (CRM.dealLead)
			}
		}
		buf = touchesOf(touches, x.id, buf[:0])
		f.lead.mkt = summarizeTouches(buf, f.lead, a)
		store.putAt(x.i, x.id, f)
	}
}

// RangeRows is CRMRows that gives the rows of a range of lead ids, [lo, hi) (hi = MaxInt64: no
// upper bound), without reading the others: the database by ranges of its lead_id index, the
// backfill's rows kept in lead order.
type RangeRows interface {
	// LeadIDs gives every lead's id, for the ranges' bounds.
	LeadIDs(fn func(int64))
	// Ranged reports whether the rows can be read by range (after LeadIDs): text ids, whose
	// numbers do not order as the database orders them, cannot, and are read as one range.
	Ranged() bool
	LeadsIn(lo, hi int64, fn func(source.Lead))
	ActivitiesIn(lo, hi int64, fn func(source.Activity))
	OpportunitiesIn(lo, hi int64, fn func(source.Opportunity))
}

// ByScan gives the rows of a range of lead ids from rows kept in no lead order, by reading
// every row and keeping the range's.
func ByScan(rows CRMRows) RangeRows { return scanRanges{rows} }

type scanRanges struct{ rows CRMRows }

func (r scanRanges) LeadIDs(fn func(int64)) { r.rows.EachLead(func(x source.Lead) { fn(x.ID) }) }
func (r scanRanges) Ranged() bool           { return true }

func inRange(id, lo, hi int64) bool { return id >= lo && (id < hi || hi == math.MaxInt64) }

func (r scanRanges) LeadsIn(lo, hi int64, fn func(source.Lead)) {
	r.rows.EachLead(func(x source.Lead) {
		if inRange(x.ID, lo, hi) {
			fn(x)
		}
	})
}

func (r scanRanges) ActivitiesIn(lo, hi int64, fn func(source.Activity)) {
	r.rows.EachActivity(func(x source.Activity) {
		if inRange(x.LeadID, lo, hi) {
			fn(x)
		}
	})
}

func (r scanRanges) OpportunitiesIn(lo, hi int64, fn func(source.Opportunity)) {
	r.rows.EachOpportunity(func(x source.Opportunity) {
		if inRange(x.LeadID, lo, hi) {
			fn(x)
		}
	})
}

// parallel runs one tally per core, fed by feed(i, c), and returns them.
func (l *LiveCRM) parallel(now time.Time, n int, feed func(i int, c *CRM)) []*CRM {
	cs := make([]*CRM, n)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := l.tally(now)
			if ids, ok := l.idSets.Get().(*idSet); ok {
				c.actIDs = *ids
			}
			feed(i, c)
			ids := c.actIDs // no row is fed to the round's tally after this
			ids.reset()
			c.actIDs = idSet{}
			l.idSets.Put(&ids)
			cs[i] = c
		}()
	}
	wg.Wait()
	return cs
}

// moduloRound splits the leads by id modulo n*rounds: every tally reads every row and keeps
// its share.
func (l *LiveCRM) moduloRound(rows CRMRows, now time.Time, n, rounds int) func(r int) []*CRM {
	return func(r int) []*CRM {
		return l.parallel(now, n, func(i int, c *CRM) {
			c.useArena(l.roundArena())
			part := uint64(r*n + i)
			mine := func(lead int64) bool { return uint64(lead)%uint64(n*rounds) == part }
			rows.EachLead(func(x source.Lead) {
				if mine(x.ID) {
					c.Lead(x)
				}
			})
			rows.EachActivity(func(x source.Activity) {
				if mine(x.LeadID) {
					c.Activity(x)
				}
			})
			rows.EachOpportunity(func(x source.Opportunity) {
				if mine(x.LeadID) {
					c.Opportunity(x)
				}
			})
		})
	}
}

// roundArena is a factsArena for a first-pass round's tally, one a round stored before gave
// back if there is one.
func (l *LiveCRM) roundArena() *factsArena {
	select {
	case a := <-l.arenas:
		a.reset()
		return a
	default:
		return &factsArena{}
	}
}

// release gives back a first-pass round tally's arena once its facts are stored: nothing of the
// tally is read after.
func (l *LiveCRM) release(c *CRM) {
	if c.arena != nil {
		c.keepOpps()
		select {
		case l.arenas <- c.arena:
		default: // as many as a recount holds at once are kept
		}
		c.arena = nil
	}
}

// rangeRound splits the leads into n*rounds ranges of ids holding about as many leads each
// (the first and last open-ended, so a row of a lead that does not exist falls in one): every
// row is read once a pass.
func (l *LiveCRM) rangeRound(rr RangeRows, now time.Time, n, rounds int, ids []int64) func(r int) []*CRM {
	slices.Sort(ids)
	k := n * rounds
	bounds := make([]int64, k+1)
	bounds[0], bounds[k] = math.MinInt64, math.MaxInt64
	for j := 1; j < k; j++ {
		if len(ids) == 0 { // no lead yet (a backfill's first day): the last range takes every row
			bounds[j] = math.MinInt64
			continue
		}
		bounds[j] = ids[j*len(ids)/k]
	}
	rej, rejects := rr.(interface {
		RejectedIn(lo, hi int64, fn func(query string, lead, digest int64))
	})
	return func(r int) []*CRM {
		return l.parallel(now, n, func(i int, c *CRM) {
			c.useArena(l.roundArena())
			lo, hi := bounds[r*n+i], bounds[r*n+i+1]
			rr.LeadsIn(lo, hi, c.Lead)
			rr.ActivitiesIn(lo, hi, c.Activity)
			rr.OpportunitiesIn(lo, hi, c.Opportunity)
			if rejects {
				rej.RejectedIn(lo, hi, c.Rejected)
			}
		})
	}
}

// appendDoubling appends x to s, doubling s when it is full. append grows a large slice by a
// quarter at a time, which allocates about five times its final size on the way there: a cold
// start's list of every lead id, a range's touchpoints. Each such allocation brings the next
// collection closer, at a GOGC of 35.
func appendDoubling[T any](s []T, x T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(256, len(s)))
	}
	return append(s, x)
}

// finished is what tallies of disjoint sets of leads add up to.
type finished struct {
	s, vs    *Snapshot
	volatile map[int64]bool
	waiters  map[int64]Waiter
	arrivals map[int64]Arrival
	leads    int
}

// finish finishes tallies of disjoint sets of leads, concurrently, and adds them up; keep (if
// set) is given the facts of their stable leads.
func (l *LiveCRM) finish(cs []*CRM, keep func(int64, *facts)) finished {
	admit(l.folder, cs...) // before any tally publishes a label value
	return l.finishAdmitted(cs, keep)
}

// add adds the numbers of tallies of other leads.
func (f *finished) add(o finished) {
	if f.s == nil {
		*f = o
		return
	}
	if o.s != f.s { // the same: its tally added to f's own snapshot
		f.s.merge(o.s, 1)
	}
	f.vs.merge(o.vs, 1)
	maps.Copy(f.volatile, o.volatile)
	maps.Copy(f.waiters, o.waiters)
	maps.Copy(f.arrivals, o.arrivals)
	f.leads += o.leads
}

// finishAdmitted is finish once their label values are admitted.
func (l *LiveCRM) finishAdmitted(cs []*CRM, keep func(int64, *facts)) finished {
	ss, vss := make([]*Snapshot, len(cs)), make([]*Snapshot, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss[i], vss[i] = c.finishRows()
		}()
	}
	wg.Wait()
	f := finished{s: ss[0], vs: vss[0], volatile: cs[0].Volatile(), waiters: cs[0].Waiters(), arrivals: cs[0].Arrivals()}
	for i, c := range cs {
		f.leads += len(c.leads)
		if keep != nil {
			for id, x := range c.entities() {
				keep(id, x)
			}
		}
		if i == 0 {
			continue
		}
		f.s.merge(ss[i], 1)
		f.vs.merge(vss[i], 1)
		maps.Copy(f.volatile, c.Volatile())
		maps.Copy(f.waiters, c.Waiters())
		maps.Copy(f.arrivals, c.Arrivals())
	}
	return f
}

// compare orders touches by time, then id.
func (t Touch) compare(o Touch) int {
	if c := cmp.Compare(t.At, o.At); c != 0 {
		return c
	}
	return cmp.Compare(t.ID, o.ID)
}

func sortTouches(ts []Touch) { slices.SortFunc(ts, Touch.compare) }

// TouchFeed tells the CRM's live tally what the campaign side's changed: the campaigns' labels,
// the leads whose touches changed (or that every lead's may have: a full recount of the campaign
// side), and where every lead's touches are (the campaign tally's store). The two databases are
// polled on their own schedules: the campaign side pushes after each of its polls, and the CRM
// side takes what was pushed since its last poll.
type TouchFeed struct {
	mu      sync.Mutex
	changed map[int64]bool
	all     int // full recounts pushed and not yet taken
	refs    map[int64]CampaignRef
	store   interface{ Of(int64) []Touch }
	pushed  bool
	settle  sync.Once
	settled chan struct{}
}

// NewTouchFeed returns an empty feed.
func NewTouchFeed() *TouchFeed {
	return &TouchFeed{settled: make(chan struct{}), changed: map[int64]bool{}}
}

// Settle marks the campaign side's first poll as over, successful or not. The two databases are
// read concurrently at start-up, but the CRM side tallies only once the first touches are in
// (or known not to come), so that it does not tally every lead twice.
func (f *TouchFeed) Settle() { f.settle.Do(func() { close(f.settled) }) }

// Settled is closed once the campaign side's first poll is over.
func (f *TouchFeed) Settled() <-chan struct{} { return f.settled }

func (f *TouchFeed) isSettled() bool {
	select {
	case <-f.settled:
		return true
	default:
		return false
	}
}

// push adds a campaign poll's changes: the leads whose touches changed, or all of them.
func (f *TouchFeed) push(changed map[int64]bool, all bool, refs map[int64]CampaignRef, store interface{ Of(int64) []Touch }) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.changed == nil {
		f.changed = map[int64]bool{}
	}
	maps.Copy(f.changed, changed)
	if all {
		f.all++
	}
	f.refs, f.store, f.pushed = refs, store, true
}

// touchNews is what the CRM side takes from the feed at one poll.
type touchNews struct {
	changed map[int64]bool
	all     int
	refs    map[int64]CampaignRef
	store   interface{ Of(int64) []Touch }
	pushed  bool
}

// peek returns what was pushed since the last take, leaving it in the feed.
func (f *TouchFeed) peek() touchNews {
	f.mu.Lock()
	defer f.mu.Unlock()
	return touchNews{changed: maps.Clone(f.changed), all: f.all, refs: f.refs, store: f.store, pushed: f.pushed}
}

// take drops what a peek returned, which the CRM side has tallied.
func (f *TouchFeed) take(n touchNews) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id := range n.changed {
		delete(f.changed, id)
	}
	f.all -= n.all
}

// CampaignRows is where the live campaign tally reads rows: the poller's, the backfill's.
type CampaignRows interface {
	EachCampaign(func(source.Campaign))
	EachStat(func(source.CampaignStat))
	Stat(key [2]int64) (source.CampaignStat, bool)
	// EachTouchpoint gives every touchpoint (a full recount); TouchesOf those of one lead.
	EachTouchpoint(func(source.Touchpoint))
	TouchesOf(lead int64, fn func(source.Touchpoint))
}

// TouchRangeRows is CampaignRows that gives the touchpoints of a range of lead ids, [lo, hi)
// (open ends: math.MinInt64, math.MaxInt64), without reading the others: a full recount then
// folds a range at a time instead of holding every touch at once.
type TouchRangeRows interface {
	// TouchBounds returns the lead ids that split the touchpoints into ranges of about as many
	// each: at least minRanges ranges (fewer only when there are fewer leads), and more when
	// that leaves more than perRange touchpoints in a range.
	TouchBounds(minRanges, perRange int) []int64
	TouchesIn(lo, hi int64, fn func(source.Touchpoint))
}

// StatKey identifies a campaign-day row.
func StatKey(s source.CampaignStat) [2]int64 { return [2]int64{s.CampaignID, s.Day.Unix()} }

// LiveCampaigns is the campaign tally kept between polls. Each stat row contributes on its own,
// and each lead's touchpoints together, kept in a touchStore; a change to a campaign (its
// channel, name or currency) recomputes everything, and so do the windows rolling over when the
// new periods hold many of the rows (otherwise the sums move over and only the rows dated in the
// new periods are recomputed).
type LiveCampaigns struct {
	cfg    *config.Config
	folder *Folder
	base   *Snapshot
	spans  fiscal.Spans
	now    time.Time // the last poll's instant
	store  *touchStore
	feed   *TouchFeed
	// Rebuilds counts the polls that recomputed every row.
	Rebuilds uint64
}

// NewLiveCampaigns starts a live tally.
func NewLiveCampaigns(cfg *config.Config, folder *Folder) *LiveCampaigns {
	return &LiveCampaigns{cfg: cfg, folder: folder, store: newTouchStore()}
}

// Share has every poll push its changes to feed, for the CRM side.
func (l *LiveCampaigns) Share(feed *TouchFeed) { l.feed = feed }

// Built reports whether a first poll has been tallied.
func (l *LiveCampaigns) Built() bool { return l.base != nil }

// Digests calls fn with the digest of every lead's touchpoints as the last poll left them, for a
// reconciliation to compare with the database's.
func (l *LiveCampaigns) Digests(fn func(lead int64, d DigestSum)) { l.store.eachDigest(fn) }

// Update tallies a poll at now: stats are the stat rows that change (by key), leads the leads
// whose touchpoints change; rebuild asks for every row (a campaign changed); apply applies the
// changes to rows. It returns the snapshot to publish and every campaign's labels; nothing when
// rows read from a database failed (Err), in which case the next poll recounts every row.
func (l *LiveCampaigns) Update(rows CampaignRows, stats map[[2]int64]bool, leads map[int64]bool, rebuild bool, apply func(), now time.Time) (*Snapshot, map[int64]CampaignRef) {
	spans := l.cfg.Calendar.Spans(now)
	rebuild = rebuild || l.base == nil
	var from []int // the roll-over's windows (fiscal.Spans.Roll)
	rolled := map[int64]bool{}
	if !rebuild && !spans.Equal(l.spans) {
		// The caller's sets are the rows that changed (nil for none): not to be written to.
		stats = cloneSet(stats)
		from = l.rolled(rows, spans, now, stats, rolled)
		rebuild = from == nil
	}
	recount := maps.Clone(rolled) // leads whose touches are counted again
	maps.Copy(recount, leads)
	if !rebuild {
		// Their numbers as base holds them: at the last poll's instant, before the changes.
		old := l.tally(rows, l.now)
		for k := range stats {
			if s, ok := rows.Stat(k); ok {
				old.Stat(s)
			}
		}
		for lead := range recount {
			if lt, ok := l.store.get(lead); ok {
				old.leadTouches(lt)
			}
		}
		l.base.merge(old.finishRows(), -1)
		if from != nil {
			l.base.roll(l.spans, spans, from) // the other rows' numbers, moved over
		}
	}
	apply()
	var c *Campaigns
	if rebuild {
		l.Rebuilds++
		c = l.tally(rows, now)
		rows.EachStat(c.Stat)
		// Each lead's touches are counted as they are stored: read back from the store after,
		// they were decoded a second time (6 % of a 1M cold start's CPU).
		fresh := storeTouches(rows, c.leadTouches)
		if rowsErr(rows) != nil {
			l.base = nil // half read: the next poll recounts every row (the caller fails this one)
			return nil, nil
		}
		l.store.replace(fresh)
		l.base = c.finishRows()
	} else {
		c = l.tally(rows, now)
		for k := range stats {
			if s, ok := rows.Stat(k); ok {
				c.Stat(s)
			}
		}
		for lead := range leads {
			var ts []source.Touchpoint
			rows.TouchesOf(lead, func(x source.Touchpoint) { ts = append(ts, x) })
			l.store.put(lead, foldTouches(ts, nil))
		}
		for lead := range recount {
			if lt, ok := l.store.get(lead); ok {
				c.leadTouches(lt)
			}
		}
		l.base.merge(c.finishRows(), 1)
	}
	l.spans, l.now = spans, now
	out := l.base.clonePublished()
	c.globals(out)
	out.publish()
	refs := c.Refs()
	if l.feed != nil {
		l.feed.push(leads, rebuild, refs, l.store)
	}
	return out, refs
}

// storeTouches folds every touchpoint into a new store, a range of leads at a time when rows can
// give them so, and gives each lead's touches to each (if set) as it stores them.
func storeTouches(rows CampaignRows, each func(leadTouches)) *touchStore {
	s := newTouchStore()
	// A range's rows are put in lead order, then each lead's run is folded: one slice reused
	// from range to range, where a map of slices by lead cost an allocation or more per lead.
	var batch []source.Touchpoint
	var order []int32
	var folded []keptTouch // a lead's touches, encoded at once: one slice for every lead
	put := func(lead int64, run []source.Touchpoint) {
		s.putEncoded(lead, 0, func(b []byte) []byte {
			lt := foldTouches(run, folded)
			folded = lt.touches
			if each != nil {
				each(lt)
			}
			return encodeTouches(b, &s.d, lt)
		})
	}
	fold := func() {
		byLead := func(a, b source.Touchpoint) int { return cmp.Compare(a.LeadID, b.LeadID) }
		if slices.IsSortedFunc(batch, byLead) {
			// Read in lead order already (a range read by the lead_id index, or a table
			// written lead by lead): each lead's run is folded where it lies.
			for lo := 0; lo < len(batch); {
				hi := lo + 1
				for hi < len(batch) && batch[hi].LeadID == batch[lo].LeadID {
					hi++
				}
				put(batch[lo].LeadID, batch[lo:hi])
				lo = hi
			}
			batch = batch[:0]
			return
		}
		order = order[:0]
		for i := range batch {
			order = append(order, int32(i))
		}
		slices.SortFunc(order, func(a, b int32) int { // by lead, then as read (as a stable sort)
			if c := cmp.Compare(batch[a].LeadID, batch[b].LeadID); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		var run []source.Touchpoint
		for i, j := range order {
			run = append(run, batch[j])
			if i+1 < len(order) && batch[order[i+1]].LeadID == batch[j].LeadID {
				continue
			}
			put(batch[j].LeadID, run)
			run = run[:0]
		}
		batch = batch[:0]
	}
	add := func(x source.Touchpoint) { batch = appendDoubling(batch, x) }
	if rr, ok := rows.(TouchRangeRows); ok {
		bounds := append(append([]int64{math.MinInt64}, rr.TouchBounds(touchRanges, touchesPerRange)...), math.MaxInt64)
		for i := 0; i+1 < len(bounds); i++ {
			rr.TouchesIn(bounds[i], bounds[i+1], add)
			fold()
		}
		s.clip()
		return s
	}
	rows.EachTouchpoint(add)
	fold()
	s.clip()
	return s
}

// A full recount reads the touchpoints in touchRanges ranges of leads at least, and in as many
// more as keeps a range to about touchesPerRange touchpoints: a range's rows are held at once
// (some 100 bytes each), and at 5,000,000 leads 16 ranges held 800,000 touchpoints each.
const (
	touchRanges     = 16
	touchesPerRange = 1 << 15
)

// RangesOf is how many ranges n touchpoints are read in (TouchRangeRows.TouchBounds).
func RangesOf(n, minRanges, perRange int) int { return max(minRanges, (n+perRange-1)/perRange) }

// BoundsOf cuts sorted lead ids (one per touchpoint, or a sample of them) into k ranges of about
// as many each, and returns the k-1 bounds between them, increasing (a lead with many touchpoints
// can make two bounds one: fewer ranges).
func BoundsOf(sorted []int64, k int) []int64 {
	var out []int64
	for j := 1; j < k && len(sorted) > 0; j++ {
		if b := sorted[j*len(sorted)/k]; len(out) == 0 || b > out[len(out)-1] {
			out = append(out, b)
		}
	}
	return out
}

// DatedRows is CampaignRows that can give the leads with a touchpoint dated in a period without
// reading the others (the backfill's view of the rows, which keeps them in time order).
type DatedRows interface {
	// TouchLeadsDated calls fn with the lead of every touchpoint dated in p and returns how many
	// touchpoints there are.
	TouchLeadsDated(p fiscal.Period, fn func(lead int64)) (all int)
}

func cloneSet[K comparable](m map[K]bool) map[K]bool {
	out := make(map[K]bool, len(m))
	maps.Copy(out, m)
	return out
}

// rolled adds to stats the stat rows, and to leads the leads with a touch, dated in the fresh
// periods of the roll-over from the last poll's windows to spans, the only ones a number moved
// over whole (Snapshot.roll) can miss, and returns how the windows map (fiscal.Spans.Roll); nil,
// for a full recount, when they are more than a quarter of the rows or the clock went back.
func (l *LiveCampaigns) rolled(rows CampaignRows, spans fiscal.Spans, now time.Time, stats map[[2]int64]bool, leads map[int64]bool) []int {
	if now.Before(l.now) {
		return nil
	}
	from, fresh, ok := l.spans.Roll(spans)
	if !ok {
		return from
	}
	n, dated := 0, 0
	ss, ts := map[[2]int64]bool{}, map[int64]bool{}
	rows.EachStat(func(x source.CampaignStat) {
		n++
		if fresh.ContainsDate(x.Day) {
			ss[StatKey(x)] = true
		}
	})
	if dr, ok := rows.(DatedRows); ok {
		n += dr.TouchLeadsDated(fresh, func(lead int64) {
			ts[lead] = true
			dated++
		})
	} else {
		l.store.eachTouches(func(lead int64, lt leadTouches) {
			n += len(lt.touches)
			for _, t := range lt.touches {
				if fresh.Contains(t.at) {
					ts[lead] = true
					dated++
				}
			}
		})
	}
	if len(ss)+dated > n/4 {
		return nil
	}
	maps.Copy(stats, ss)
	maps.Copy(leads, ts)
	return from
}

func (l *LiveCampaigns) tally(rows CampaignRows, now time.Time) *Campaigns {
	c := NewCampaigns(l.cfg, l.folder, now)
	c.unique = true // touches come kept (repeated ids counted there)
	rows.EachCampaign(c.Campaign)
	return c
}

// AddSkipped counts rows the decoder rejected into a snapshot's data-quality problems.
func (s *Snapshot) AddSkipped(query string, skipped map[string]int) {
	for check, n := range skipped {
		if n != 0 {
			s.Problems[Problem{query, check}] += n
		}
	}
}
