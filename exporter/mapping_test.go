package exporter_test

import (
	"context"
	"strings"
	"testing"
)

// hubspotSchema copies the reference data into tables shaped like a Fivetran HubSpot sync:
// contacts with lifecycle-stage dates, deals linked through deal_contact, engagements with text
// ids, soft deletes.
const hubspotSchema = `
CREATE SCHEMA hubspot;
CREATE TABLE hubspot.owner AS
  SELECT id AS owner_id, split_part(name, ' ', 1) AS first_name, split_part(name, ' ', 2) AS last_name, email, sales_team AS team_name FROM owners;
CREATE TABLE hubspot.contact AS
  SELECT id, created_at AS property_createdate, updated_at AS _fivetran_synced, source AS property_hs_analytics_source,
         region AS property_region, segment AS property_segment, owner_id AS property_hubspot_owner_id,
         CASE status WHEN 'New' THEN 'lead' WHEN 'MQL' THEN 'marketingqualifiedlead' WHEN 'Open - Not Contacted' THEN 'marketingqualifiedlead' WHEN 'Working' THEN 'marketingqualifiedlead'
           WHEN 'SQL' THEN 'salesqualifiedlead' WHEN 'Converted' THEN 'opportunity' WHEN 'Disqualified' THEN 'other' END AS property_lifecyclestage,
         mql_at AS property_hs_lifecyclestage_marketingqualifiedlead_date, sql_at AS property_hs_lifecyclestage_salesqualifiedlead_date,
         disqualified_at AS property_hs_disqualified_date, disqualified_reason AS property_hs_disqualified_reason, email AS property_email,
         false AS _fivetran_deleted
  FROM leads;
INSERT INTO hubspot.contact (id, property_createdate, _fivetran_synced, property_lifecyclestage, _fivetran_deleted)
  VALUES (999999, now(), now(), 'lead', true);
CREATE TABLE hubspot.engagement AS
  SELECT 'eng-' || id AS id, upper(kind) AS type, occurred_at AS "timestamp", false AS _fivetran_deleted FROM sales_activities;
CREATE TABLE hubspot.engagement_contact AS SELECT 'eng-' || id AS engagement_id, lead_id AS contact_id FROM sales_activities;
CREATE TABLE hubspot.deal AS
  SELECT id AS deal_id, amount AS property_amount, currency AS deal_currency_code, stage_name AS deal_pipeline_stage_id,
         created_at AS property_createdate, COALESCE(closed_at, expected_close_date::timestamp AT TIME ZONE 'UTC') AS property_closedate,
         is_closed AS property_hs_is_closed, is_won AS property_hs_is_closed_won, false AS _fivetran_deleted
  FROM opportunities;
CREATE TABLE hubspot.deal_contact AS SELECT id AS deal_id, lead_id AS contact_id FROM opportunities WHERE lead_id IS NOT NULL;
`

const hubspotConfig = `
  status_map: {other: disqualified}
`

const hubspotQueries = `
    queries:
      owners: |
        SELECT owner_id AS id, first_name || ' ' || last_name AS name, team_name AS sales_team, NULL AS region FROM hubspot.owner
      leads: |
        SELECT id, property_createdate AS created_at, _fivetran_synced AS updated_at, property_hs_analytics_source AS source,
               property_region AS region, property_segment AS segment, property_hubspot_owner_id AS owner_id,
               property_lifecyclestage AS status, property_hs_lifecyclestage_marketingqualifiedlead_date AS mql_at,
               property_hs_lifecyclestage_salesqualifiedlead_date AS sql_at, property_hs_disqualified_date AS disqualified_at,
               property_hs_disqualified_reason AS disqualified_reason
        FROM hubspot.contact WHERE NOT _fivetran_deleted
      activities: |
        SELECT e.id, ec.contact_id AS lead_id, lower(e.type) AS kind, e."timestamp" AS occurred_at
        FROM hubspot.engagement e JOIN hubspot.engagement_contact ec ON ec.engagement_id = e.id WHERE NOT e._fivetran_deleted
      opportunities: |
        SELECT d.deal_id AS id, dc.contact_id AS lead_id, d.property_amount AS amount, d.deal_currency_code AS currency,
               d.deal_pipeline_stage_id AS stage, d.property_createdate AS created_at,
               (d.property_closedate AT TIME ZONE 'UTC')::date AS expected_close_date,
               CASE WHEN d.property_hs_is_closed THEN d.property_closedate END AS closed_at,
               d.property_hs_is_closed AS is_closed, d.property_hs_is_closed_won AS is_won
        FROM hubspot.deal d LEFT JOIN hubspot.deal_contact dc ON dc.deal_id = d.deal_id WHERE NOT d._fivetran_deleted
`

// A CRM with another schema is mapped by writing SELECTs that return the canonical columns: the
// same data read through a HubSpot-shaped schema publishes exactly the same numbers.
func TestCustomSchemaMapping(t *testing.T) {
	w := newWorld(t, 21, 1200, "", ordinary)
	reference := w.exporter()
	poll(t, reference)
	want := series(t, reference.Registry, published)

	if _, err := w.crm.Exec(hubspotSchema); err != nil {
		t.Fatal(err)
	}
	mapped := strings.Replace(w.config(), "crm: {dsn_env: CRM, poll_interval: 1m, query_timeout: 30s}",
		"crm:\n    dsn_env: CRM\n"+hubspotQueries, 1)
	mapped = strings.Replace(mapped, "funnel:\n", "funnel:\n"+hubspotConfig, 1)
	w2 := *w
	w2.cfg = reparse(t, w, mapped)
	e := w2.exporter()
	if err := e.Check(context.Background()); err != nil {
		t.Fatalf("--config.check of the mapping: %v", err)
	}
	poll(t, e)
	compare(t, "HubSpot-shaped schema vs reference schema", series(t, e.Registry, published), want)

	// A mapping that returns the wrong columns is caught before serving, naming query and column.
	broken := strings.Replace(mapped, "property_region AS region,", "", 1)
	w3 := *w
	w3.cfg = reparse(t, w, broken)
	err := w3.exporter().Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "databases.crm.queries.leads") || !strings.Contains(err.Error(), "missing column(s) region") {
		t.Fatalf("want an error naming the leads query and the region column, got %v", err)
	}
}
