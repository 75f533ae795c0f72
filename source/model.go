// Package source reads the CRM and campaign databases. Every query the exporter runs returns
// documented canonical columns; this package holds their default SQL for the reference schema,
// checks a replacement query's columns, and decodes rows into the plain structs below. Rows that
// cannot be decoded are reported as data-quality problems, never as errors that stop a poll.
package source

import (
	"time"

	"github.com/tandem-oss/tandem/money"
)

// Owner is a CRM user who owns leads.
type Owner struct {
	ID        int64
	Name      string
	SalesTeam string
	Region    string
}

// Lead is one CRM lead with its lifecycle timestamps; a zero time means "not (yet) set".
type Lead struct {
	ID                 int64
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Source             string
	Region             string
	Segment            string
	OwnerID            int64 // 0 when unassigned
	Status             string
	MQLAt              time.Time
	SQLAt              time.Time
	DisqualifiedAt     time.Time
	DisqualifiedReason string
	Digest             int64 // the row's digest (see DigestColumn), for reconciliation
}

// Activity is a sales touch on a lead: a call, e-mail or meeting.
type Activity struct {
	ID         int64
	LeadID     int64
	Kind       string
	OccurredAt time.Time
	UpdatedAt  time.Time
	Digest     int64
}

// Opportunity is a deal, closed (won or lost) or open.
type Opportunity struct {
	ID            int64
	LeadID        int64 // 0 when the deal has no lead
	Amount        money.Cents
	Currency      string
	Stage         string
	CreatedAt     time.Time
	ExpectedClose time.Time // a date; zero when unknown
	ClosedAt      time.Time
	IsClosed      bool
	IsWon         bool
	UpdatedAt     time.Time
	Digest        int64
}

// Campaign is a marketing campaign.
type Campaign struct {
	ID        int64
	Name      string
	Channel   string
	Currency  string
	UpdatedAt time.Time
}

// CampaignStat is one campaign's results for one day.
type CampaignStat struct {
	CampaignID  int64
	Day         time.Time
	Spend       money.Cents
	Impressions int64
	Clicks      int64
	UpdatedAt   time.Time
}

// Touchpoint is a lead's interaction with a marketing campaign.
type Touchpoint struct {
	ID         int64
	LeadID     int64
	CampaignID int64 // 0 when unknown
	Kind       string
	OccurredAt time.Time
	UpdatedAt  time.Time
	Digest     int64
}

// RowKey is what a poll follows a lead-keyed row by: the lead it belongs to, its own id, when it
// was last updated and its digest (a lead is its own lead).
type RowKey struct {
	Lead, ID int64
	Updated  time.Time
	Digest   int64
}

// Key is the row's RowKey.
func (x Lead) Key() RowKey        { return RowKey{x.ID, x.ID, x.UpdatedAt, x.Digest} }
func (x Activity) Key() RowKey    { return RowKey{x.LeadID, x.ID, x.UpdatedAt, x.Digest} }
func (x Opportunity) Key() RowKey { return RowKey{x.LeadID, x.ID, x.UpdatedAt, x.Digest} }
func (x Touchpoint) Key() RowKey  { return RowKey{x.LeadID, x.ID, x.UpdatedAt, x.Digest} }
