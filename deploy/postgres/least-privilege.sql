-- The least-privilege role for tandem-exporter: it can read exactly the columns the default
-- queries read, and nothing else. Personal data (e-mail addresses, lead owners' e-mails) is not
-- even readable. Run as a superuser in each database (the CRM's and the campaigns', or one that
-- holds both): it grants on the tables that database has, and running it again changes nothing.
-- Replace the password (or use
-- certificate/IAM authentication), and add columns here if your custom queries read more.
-- Tandem also reads in READ ONLY transactions with a statement_timeout, so even a wrong grant
-- cannot write or hold locks for long.

-- The role is cluster-wide: created once, whichever database runs this first.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tandem_reader') THEN
    CREATE ROLE tandem_reader LOGIN PASSWORD 'change-me' CONNECTION LIMIT 5;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO tandem_reader;

-- Each grant applies where its table exists: the CRM database has the first four, the campaign
-- database the last three.
DO $$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT * FROM (VALUES
    -- CRM database
    ('owners',               'id, name, sales_team, region'),
    ('leads',                'id, created_at, updated_at, source, region, segment, owner_id, status, mql_at, sql_at, disqualified_at, disqualified_reason'),
    ('sales_activities',     'id, lead_id, kind, occurred_at, updated_at'),
    ('opportunities',        'id, lead_id, amount, currency, stage_name, created_at, expected_close_date, closed_at, is_closed, is_won, updated_at'),
    -- Campaign database
    ('campaigns',            'id, name, channel, currency, updated_at'),
    ('campaign_daily_stats', 'campaign_id, day, spend, impressions, clicks, updated_at'),
    ('marketing_touchpoints','id, lead_id, campaign_id, kind, occurred_at, updated_at')
  ) AS t(tbl, cols)
  LOOP
    IF to_regclass('public.' || g.tbl) IS NOT NULL THEN
      EXECUTE format('GRANT SELECT (%s) ON public.%I TO tandem_reader', g.cols, g.tbl);
    END IF;
  END LOOP;
END
$$;
