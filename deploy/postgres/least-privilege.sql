-- The least-privilege role for tandem-exporter: it can read exactly the columns the default
-- queries read, and nothing else. Personal data (e-mail addresses, lead owners' e-mails) is not
-- even readable. Run as a superuser in each database; replace the password (or use
-- certificate/IAM authentication), and add columns here if your custom queries read more.
-- Tandem also reads in READ ONLY transactions with a statement_timeout, so even a wrong grant
-- cannot write or hold locks for long.

CREATE ROLE tandem_reader LOGIN PASSWORD 'change-me' CONNECTION LIMIT 5;

-- CRM database
GRANT USAGE ON SCHEMA public TO tandem_reader;
GRANT SELECT (id, name, sales_team, region) ON owners TO tandem_reader;
GRANT SELECT (id, created_at, updated_at, source, region, segment, owner_id, status, mql_at, sql_at,
              disqualified_at, disqualified_reason) ON leads TO tandem_reader;
GRANT SELECT (id, lead_id, kind, occurred_at, updated_at) ON sales_activities TO tandem_reader;
GRANT SELECT (id, lead_id, amount, currency, stage_name, created_at, expected_close_date, closed_at,
              is_closed, is_won, updated_at) ON opportunities TO tandem_reader;

-- Campaign database
GRANT SELECT (id, name, channel, currency, updated_at) ON campaigns TO tandem_reader;
GRANT SELECT (campaign_id, day, spend, impressions, clicks, updated_at) ON campaign_daily_stats TO tandem_reader;
GRANT SELECT (id, lead_id, campaign_id, kind, occurred_at, updated_at) ON marketing_touchpoints TO tandem_reader;
