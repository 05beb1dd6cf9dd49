-- schema: the warehouse's stored tables. Created if missing; the build fills them.
--
-- Only `campaign-reports build` writes these tables. Everything else in queries/ is a view or a
-- table macro over them, so the analyst copy is self-contained: it needs no Parquet files.
--
--   catalog        one row per state (the 12 states plus `other`), from pipeline/core/states.toml
--   settings       one row per setting the views use (timezone, stuck_after_minutes)
--   snapshot_log   one row per published snapshot the warehouse has processed
--   history_closed one row per contact per state interval that has ended (append-only)
--   history_open   one row per contact still in the campaign's latest snapshot (replaced per build)
--   The view state_history (formulas/state_history.sql) is the union of the two history tables.

CREATE TABLE IF NOT EXISTS catalog (
    state VARCHAR NOT NULL,
    label VARCHAR,
    category VARCHAR,
    funnel_stage VARCHAR,
    funnel_rank TINYINT,
    api_values VARCHAR,
    description VARCHAR,
    notes VARCHAR,
    sort_order SMALLINT
);
COMMENT ON TABLE catalog IS 'The state catalog: one row per contact state (12 vendor states plus other). Source: pipeline/core/states.toml.';
COMMENT ON COLUMN catalog.state IS 'State code used everywhere in the warehouse, e.g. delivered.';
COMMENT ON COLUMN catalog.label IS 'The label the mluvii admin UI shows, e.g. Delivered.';
COMMENT ON COLUMN catalog.category IS 'pending, in_funnel, failed, excluded or other.';
COMMENT ON COLUMN catalog.funnel_stage IS 'Furthest funnel stage a contact in this state has reached: sent, delivered, read or NULL.';
COMMENT ON COLUMN catalog.funnel_rank IS '0 = never reached Sent, 1 = Sent, 2 = Delivered, 3 = Read.';
COMMENT ON COLUMN catalog.api_values IS 'The API values that map to this state, comma separated.';
COMMENT ON COLUMN catalog.description IS 'The vendor''s description of the state.';
COMMENT ON COLUMN catalog.notes IS 'The vendor''s notes on the state.';
COMMENT ON COLUMN catalog.sort_order IS 'Order in which reports list the states.';

CREATE TABLE IF NOT EXISTS settings (
    key VARCHAR NOT NULL,
    value VARCHAR
);
COMMENT ON TABLE settings IS 'Settings the views and macros use when a parameter is not given: timezone (days are days there), stuck_after_minutes.';

CREATE TABLE IF NOT EXISTS snapshot_log (
    snapshot_id VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    snapshot_time TIMESTAMPTZ NOT NULL,
    source VARCHAR,
    path VARCHAR,
    rows BIGINT,
    complete BOOLEAN,
    contacts BIGINT,
    other_rows BIGINT,
    legacy_rows BIGINT,
    duplicate_rows BIGINT
);
COMMENT ON TABLE snapshot_log IS 'One row per published snapshot the warehouse has processed (from the store manifest). Snapshots with complete = false are listed but kept out of every metric.';
COMMENT ON COLUMN snapshot_log.snapshot_id IS 'Deterministic id of the snapshot (campaign and time).';
COMMENT ON COLUMN snapshot_log.campaign_id IS 'The campaign.';
COMMENT ON COLUMN snapshot_log.snapshot_time IS 'When the source said these states (UTC instant).';
COMMENT ON COLUMN snapshot_log.source IS 'Where the snapshot came from, e.g. file:campaign-1234_20261128T060000Z.csv.';
COMMENT ON COLUMN snapshot_log.path IS 'The Parquet file, relative to the data directory.';
COMMENT ON COLUMN snapshot_log.rows IS 'Rows in the snapshot file (manifest).';
COMMENT ON COLUMN snapshot_log.complete IS 'False for a partial snapshot: listed, never counted.';
COMMENT ON COLUMN snapshot_log.contacts IS 'Contacts in it (one row per contact; NULL if incomplete).';
COMMENT ON COLUMN snapshot_log.other_rows IS 'Rows with a state the catalog does not know (state other).';
COMMENT ON COLUMN snapshot_log.legacy_rows IS 'Rows in the legacy Successfully Submitted state, mapped.';
COMMENT ON COLUMN snapshot_log.duplicate_rows IS 'Exact repeats quarantined at ingest (manifest).';

CREATE TABLE IF NOT EXISTS history_closed (
    campaign_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    raw_state VARCHAR,
    legacy BOOLEAN,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE history_closed IS 'Compact state history, ended intervals: one row per contact per state change. Read it through the view state_history.';

CREATE TABLE IF NOT EXISTS history_open (
    campaign_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    raw_state VARCHAR,
    legacy BOOLEAN,
    valid_from TIMESTAMPTZ NOT NULL,
    valid_to TIMESTAMPTZ
);
COMMENT ON TABLE history_open IS 'Compact state history, open intervals (valid_to NULL): each contact of each campaign''s latest snapshot. Read it through the view state_history.';

-- Tables the build keeps up to date from the history, so that reports and the views below read
-- small tables instead of the whole history (each equals what its formula gives over the whole
-- history; the tests check that). Days are days in the configured time zone.
--   milestones     one row per contact: when first seen and first reaching Sent, Delivered, Read
--   daily_state    one row per campaign and local day: the counts of campaign_daily
--   daily_moves    one row per campaign, local day and move: the rows of state_transitions
--   daily_dirty    (campaign, day) pairs whose daily rows the build must redo (empty after it)
--   snapshot_reached  one row per complete snapshot: its funnel ever (what campaign_age reads)
--   snapshot_states   one row per complete snapshot: its state counts, and its changes
--   reach_hours    one row per campaign, stage and hour of its life: contacts first reaching it
CREATE TABLE IF NOT EXISTS milestones (
    campaign_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    first_sent_at TIMESTAMPTZ,
    first_delivered_at TIMESTAMPTZ,
    first_read_at TIMESTAMPTZ
);
COMMENT ON TABLE milestones IS 'Per contact, when it was first seen and first reached Sent, Delivered and Read (kept by the build; read it through the view contact_milestones).';

CREATE TABLE IF NOT EXISTS daily_state (
    campaign_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    snapshot_id VARCHAR NOT NULL,
    snapshot_time TIMESTAMPTZ NOT NULL,
    contacts BIGINT,
    initial BIGINT,
    in_progress BIGINT,
    retry_scheduled BIGINT,
    sent BIGINT,
    delivered BIGINT,
    read BIGINT,
    delivery_failed BIGINT,
    sending_failed BIGINT,
    error BIGINT,
    invalid_record BIGINT,
    removed BIGINT,
    canceled_by_admin BIGINT,
    other BIGINT,
    reached_sent BIGINT,
    reached_delivered BIGINT,
    reached_read BIGINT,
    legacy_mapped BIGINT
);
COMMENT ON TABLE daily_state IS 'Per campaign and local day (configured time zone), the end-of-day state counts and funnel (kept by the build; read it through the view campaign_daily).';

CREATE TABLE IF NOT EXISTS daily_moves (
    campaign_id VARCHAR NOT NULL,
    day DATE NOT NULL,
    from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL,
    contacts BIGINT,
    median_minutes_in_from_state DOUBLE
);
COMMENT ON TABLE daily_moves IS 'Per campaign, local day (configured time zone) and move, the contacts that moved (kept by the build; read it through the view state_transitions).';

CREATE TABLE IF NOT EXISTS snapshot_reached (
    campaign_id VARCHAR NOT NULL,
    snapshot_id VARCHAR NOT NULL,
    snapshot_time TIMESTAMPTZ NOT NULL,
    reached_sent BIGINT NOT NULL,
    reached_delivered BIGINT NOT NULL,
    reached_read BIGINT NOT NULL
);
COMMENT ON TABLE snapshot_reached IS 'Per complete snapshot, its contacts that reached Sent, Delivered and Read up to then (funnel ever; kept by the build, equal to reached_of(''state_history''); read it through the view campaign_age).';

CREATE TABLE IF NOT EXISTS snapshot_states (
    campaign_id VARCHAR NOT NULL,
    snapshot_id VARCHAR NOT NULL,
    snapshot_time TIMESTAMPTZ NOT NULL,
    contacts BIGINT NOT NULL,
    initial BIGINT NOT NULL,
    in_progress BIGINT NOT NULL,
    retry_scheduled BIGINT NOT NULL,
    sent BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    read BIGINT NOT NULL,
    delivery_failed BIGINT NOT NULL,
    sending_failed BIGINT NOT NULL,
    error BIGINT NOT NULL,
    invalid_record BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    canceled_by_admin BIGINT NOT NULL,
    other BIGINT NOT NULL,
    changed BIGINT NOT NULL
);
COMMENT ON TABLE snapshot_states IS 'Per complete snapshot, its contacts in each state (initial .. other, summing to contacts) and the intervals that begin or end at it (changed; kept by the build, equal to states_of(''state_history''); the daily rows and campaign_lifecycle read it).';

CREATE TABLE IF NOT EXISTS reach_hours (
    campaign_id VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    hour BIGINT NOT NULL,
    contacts BIGINT NOT NULL
);
COMMENT ON TABLE reach_hours IS 'Per campaign, funnel stage (sent, delivered, read) and whole hour since its first complete snapshot, the contacts that first reached the stage in that hour (kept by the build, equal to reach_hours_of(); the attention list compares campaigns at the same age with it).';

CREATE TABLE IF NOT EXISTS daily_dirty (
    campaign_id VARCHAR NOT NULL,
    day DATE NOT NULL
);
COMMENT ON TABLE daily_dirty IS 'Campaign days whose daily_state and daily_moves rows the build has still to redo (empty after a build).';

-- What the store knows of each campaign besides its snapshots (campaigns.json: names and
-- lifecycle from the API's campaign list, or `ingest --finished`). Replaced by every build; here
-- so that the views can name it before the first build has loaded it.
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id VARCHAR NOT NULL,
    name VARCHAR,
    channel VARCHAR,
    started TIMESTAMPTZ,
    finished TIMESTAMPTZ,
    finished_from VARCHAR  -- api (the campaign list) or ingest (--finished, a _final file)
);

-- What the store says went wrong on the way in, replaced by every build (from the store's
-- quarantine files and load log; see pipeline/warehouse/quality.py):
--   quarantine_summary   one row per quarantine file, campaign, snapshot time and reason
--   incomplete_reasons   one row per incomplete snapshot whose load recorded why
CREATE TABLE IF NOT EXISTS quarantine_summary (
    campaign_id VARCHAR,
    snapshot_time TIMESTAMPTZ,
    loaded_at TIMESTAMPTZ,
    reason VARCHAR,
    rows BIGINT,
    file VARCHAR
);
COMMENT ON TABLE quarantine_summary IS 'Rows quarantined at ingest, counted per quarantine file, campaign, snapshot time (NULL: unreadable) and reason (read through quality_quarantine).';

CREATE TABLE IF NOT EXISTS incomplete_reasons (
    snapshot_id VARCHAR NOT NULL,
    reason VARCHAR
);
COMMENT ON TABLE incomplete_reasons IS 'Why a snapshot was published incomplete, as its load recorded it (read through quality_incomplete).';
