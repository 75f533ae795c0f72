package source

// Database names the two databases Tandem reads; it is the value of the database label.
type Database string

const (
	CRM       Database = "crm"
	Campaigns Database = "campaigns"
)

// Column is a canonical column a query must return.
type Column struct {
	Name     string
	Required bool // a NULL here makes the row unusable: it is skipped and counted
	Doc      string
}

// Optional reports whether a custom query may leave the column out. updated_at is the only
// optional column: a query that returns it is read incrementally (only rows changed since the
// last poll); one that does not is read in full every poll.
func (c Column) Optional() bool { return c.Name == Watermark }

// Watermark is the optional column that makes a query incremental.
const Watermark = "updated_at"

// watermark is the column every query may add.
var watermark = Column{Watermark, false, "last change to the row; optional: returning it makes the query incremental"}

// Query describes one query: its canonical columns and its default SQL for the reference schema.
// The defaults use only SQL that PostgreSQL and SQLite both accept.
type Query struct {
	Name     string
	Database Database
	Doc      string
	Columns  []Column
	Default  string
}

// The query names, as used under databases.<db>.queries in tandem.yml.
const (
	QueryOwners        = "owners"
	QueryLeads         = "leads"
	QueryActivities    = "activities"
	QueryOpportunities = "opportunities"
	QueryCampaigns     = "campaigns"
	QueryCampaignStats = "campaign_stats"
	QueryTouchpoints   = "touchpoints"
)

// Queries lists every query Tandem runs, per database, in the order a poll runs them.
var Queries = []Query{
	{
		Name: QueryOwners, Database: CRM,
		Doc: "CRM users who own leads; gives each lead its sales team.",
		Columns: []Column{
			{"id", true, "owner id, matched by leads.owner_id"},
			{"name", false, "display name; exported only when labels.owner is enabled"},
			{"sales_team", false, "the sales team the owner belongs to"},
			{"region", false, "the owner's region"},
		},
		Default: `SELECT id, name, sales_team, region FROM owners`,
	},
	{
		Name: QueryLeads, Database: CRM,
		Doc: "One row per lead with its lifecycle timestamps.",
		Columns: []Column{
			{"id", true, "lead id"},
			{"created_at", true, "when the lead entered the CRM (stage lead)"},
			watermark,
			{"source", false, "marketing channel the lead came from; NULL becomes \"unknown\""},
			{"region", false, "the lead's region"},
			{"segment", false, "customer segment"},
			{"owner_id", false, "owning sales rep; NULL while unassigned"},
			{"status", false, "the CRM's own status, mapped to a canonical stage by funnel.status_map"},
			{"mql_at", false, "became marketing-qualified (stage mql)"},
			{"sql_at", false, "accepted by sales (stage sql)"},
			{"disqualified_at", false, "rejected by sales (stage disqualified)"},
			{"disqualified_reason", false, "why sales rejected it"},
		},
		Default: `SELECT id, created_at, updated_at, source, region, segment, owner_id, status,
       mql_at, sql_at, disqualified_at, disqualified_reason
FROM leads`,
	},
	{
		Name: QueryActivities, Database: CRM,
		Doc: "Sales touches on leads (calls, e-mails, meetings).",
		Columns: []Column{
			{"id", true, "activity id"},
			{"lead_id", true, "the lead touched"},
			{"kind", true, "call, email, meeting (sla.touch_kinds says which count as follow-up)"},
			{"occurred_at", true, "when the touch happened"},
			watermark,
		},
		Default: `SELECT id, lead_id, kind, occurred_at, updated_at FROM sales_activities`,
	},
	{
		Name: QueryOpportunities, Database: CRM,
		Doc: "Deals, open and closed.",
		Columns: []Column{
			{"id", true, "opportunity id"},
			{"lead_id", false, "the lead it came from"},
			{"amount", true, "deal value in its currency"},
			{"currency", false, "ISO code; NULL means the reporting currency"},
			{"stage", false, "the CRM's own pipeline stage name"},
			{"created_at", true, "when the opportunity was created (stage opportunity)"},
			{"expected_close_date", false, "the date it is expected to close (open pipeline per period)"},
			{"closed_at", false, "when it was won or lost"},
			{"is_closed", true, "closed (won or lost)"},
			{"is_won", true, "closed and won"},
			watermark,
		},
		Default: `SELECT id, lead_id, amount, currency, stage_name AS stage, created_at,
       expected_close_date, closed_at, is_closed, is_won, updated_at
FROM opportunities`,
	},
	{
		Name: QueryCampaigns, Database: Campaigns,
		Doc: "Marketing campaigns.",
		Columns: []Column{
			{"id", true, "campaign id"},
			{"name", false, "campaign name"},
			{"channel", false, "marketing channel; NULL becomes \"unknown\""},
			{"currency", false, "currency of its spend; NULL means the reporting currency"},
			watermark,
		},
		Default: `SELECT id, name, channel, currency, updated_at FROM campaigns`,
	},
	{
		Name: QueryCampaignStats, Database: Campaigns,
		Doc: "Daily spend, impressions and clicks per campaign.",
		Columns: []Column{
			{"campaign_id", true, "campaign id"},
			{"day", true, "the day the numbers are for"},
			{"spend", true, "money spent that day, in the campaign's currency"},
			{"impressions", true, "ad impressions that day"},
			{"clicks", true, "clicks that day"},
			watermark,
		},
		Default: `SELECT campaign_id, day, spend, impressions, clicks, updated_at FROM campaign_daily_stats`,
	},
	{
		Name: QueryTouchpoints, Database: Campaigns,
		Doc: "Leads' interactions with campaigns.",
		Columns: []Column{
			{"id", true, "touchpoint id"},
			{"lead_id", true, "CRM lead id"},
			{"campaign_id", false, "the campaign"},
			{"kind", true, "what happened: ad_click, form_fill, webinar, ..."},
			{"occurred_at", true, "when"},
			watermark,
		},
		Default: `SELECT id, lead_id, campaign_id, kind, occurred_at, updated_at FROM marketing_touchpoints`,
	},
}

// QueriesFor returns the queries of one database, in poll order.
func QueriesFor(db Database) []Query {
	var out []Query
	for _, q := range Queries {
		if q.Database == db {
			out = append(out, q)
		}
	}
	return out
}

// LookupQuery finds a query by database and name.
func LookupQuery(db Database, name string) (Query, bool) {
	for _, q := range Queries {
		if q.Database == db && q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}
