-- Tandem reference schema: the campaign (marketing) database.
-- Portable: the same file loads into SQLite for the embedded demo.

CREATE TABLE IF NOT EXISTS campaigns (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    channel     TEXT NOT NULL,           -- paid_search, paid_social, email, events, content, ...
    start_date  DATE,
    end_date    DATE,
    budget      NUMERIC(14, 2),
    currency    TEXT NOT NULL DEFAULT 'USD',
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS campaign_daily_stats (
    campaign_id  BIGINT NOT NULL,
    day          DATE NOT NULL,
    spend        NUMERIC(14, 2) NOT NULL DEFAULT 0,  -- in the campaign's currency
    impressions  BIGINT NOT NULL DEFAULT 0,
    clicks       BIGINT NOT NULL DEFAULT 0,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, day)
);
CREATE INDEX IF NOT EXISTS campaign_daily_stats_updated_at_idx ON campaign_daily_stats (updated_at);

CREATE TABLE IF NOT EXISTS marketing_touchpoints (
    id           BIGINT PRIMARY KEY,
    lead_id      BIGINT NOT NULL,        -- CRM leads.id
    campaign_id  BIGINT,
    kind         TEXT NOT NULL,          -- ad_click, email_click, form_fill, webinar, content_download, event_visit
    occurred_at  TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS marketing_touchpoints_lead_idx ON marketing_touchpoints (lead_id, occurred_at);
CREATE INDEX IF NOT EXISTS marketing_touchpoints_updated_at_idx ON marketing_touchpoints (updated_at);
