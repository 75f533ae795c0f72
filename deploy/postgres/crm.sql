-- Tandem reference schema: the CRM database.
-- Shaped after what Salesforce and HubSpot look like once synced into PostgreSQL (Fivetran,
-- Airbyte, Stitch): lifecycle "became <stage> at" timestamps, free-text statuses and reasons,
-- no foreign keys (syncs rarely keep them), personal data in columns Tandem never exports.
-- Portable: the same file loads into SQLite for the embedded demo.

CREATE TABLE IF NOT EXISTS owners (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,          -- personal data: exported only when labels.owner is on
    email       TEXT,                   -- personal data: never exported
    sales_team  TEXT,
    region      TEXT,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE IF NOT EXISTS leads (
    id                   BIGINT PRIMARY KEY,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    email                TEXT,          -- personal data: never exported
    source               TEXT,          -- marketing channel the lead came from (NULL happens)
    region               TEXT,
    segment              TEXT,          -- smb, mid_market, enterprise
    owner_id             BIGINT,        -- owners.id; NULL while unassigned
    status               TEXT NOT NULL, -- the CRM's own status, mapped by funnel.status_map
    mql_at               TIMESTAMPTZ,   -- became marketing-qualified
    sql_at               TIMESTAMPTZ,   -- accepted by sales
    disqualified_at      TIMESTAMPTZ,
    disqualified_reason  TEXT
);
CREATE INDEX IF NOT EXISTS leads_updated_at_idx ON leads (updated_at);

CREATE TABLE IF NOT EXISTS sales_activities (
    id           BIGINT PRIMARY KEY,
    lead_id      BIGINT NOT NULL,
    owner_id     BIGINT,
    kind         TEXT NOT NULL,         -- call, email, meeting
    occurred_at  TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sales_activities_lead_idx ON sales_activities (lead_id, occurred_at);
CREATE INDEX IF NOT EXISTS sales_activities_updated_at_idx ON sales_activities (updated_at);

CREATE TABLE IF NOT EXISTS opportunities (
    id                   BIGINT PRIMARY KEY,
    lead_id              BIGINT,
    amount               NUMERIC(14, 2),
    currency             TEXT NOT NULL DEFAULT 'USD',
    stage_name           TEXT NOT NULL,  -- the CRM's own pipeline stage
    created_at           TIMESTAMPTZ NOT NULL,
    expected_close_date  DATE,
    closed_at            TIMESTAMPTZ,
    is_closed            BOOLEAN NOT NULL DEFAULT FALSE,
    is_won               BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS opportunities_lead_idx ON opportunities (lead_id);
CREATE INDEX IF NOT EXISTS opportunities_updated_at_idx ON opportunities (updated_at);
