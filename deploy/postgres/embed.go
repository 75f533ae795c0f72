// Package postgres embeds Tandem's reference schemas so the demo generator, the tests and the
// embedded SQLite demo load exactly the files an operator reads.
package postgres

import _ "embed"

//go:embed crm.sql
var CRMSchema string

//go:embed campaigns.sql
var CampaignsSchema string
