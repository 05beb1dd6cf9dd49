-- contact_state: each contact's state as of a time, and the furthest funnel stage it ever reached.
-- One row = one contact of one campaign. Grain: campaign_id, contact_id.
-- Parameters: as_of (TIMESTAMPTZ or ISO text; default latest_data_time()).
--
-- The contacts of a campaign as of a time are those in its latest complete snapshot at or before
-- that time, each in the state that snapshot gave. A contact that is no longer listed is not a
-- contact any more (see data_quality, check vanished). furthest_rank uses the whole history up to
-- that snapshot: a contact now in Removed that once Read has furthest_stage read.
-- The view contact_state (no parentheses) is the same as of the latest data.
-- depends: views/latest_snapshots.sql, views/intervals_at.sql, views/contact_milestones.sql
CREATE OR REPLACE MACRO contact_state(as_of := NULL) AS TABLE
WITH l AS (
    SELECT campaign_id, snapshot_id, snapshot_time FROM latest_snapshots(as_of)
)
SELECT
    l.campaign_id,
    h.contact_id,
    l.snapshot_id,
    l.snapshot_time,
    h.state,
    h.raw_state,
    h.legacy,
    c.label,
    c.category,
    c.funnel_rank,
    CASE
        WHEN m.first_read_at <= l.snapshot_time THEN 3
        WHEN m.first_delivered_at <= l.snapshot_time THEN 2
        WHEN m.first_sent_at <= l.snapshot_time THEN 1
        ELSE 0
    END AS furthest_rank,
    CASE
        WHEN m.first_read_at <= l.snapshot_time THEN 'read'
        WHEN m.first_delivered_at <= l.snapshot_time THEN 'delivered'
        WHEN m.first_sent_at <= l.snapshot_time THEN 'sent'
    END AS furthest_stage,
    h.valid_from AS state_since
FROM l
JOIN intervals_at('l') AS h
    ON h.campaign_id = l.campaign_id AND h.snapshot_time = l.snapshot_time
JOIN catalog AS c ON c.state = h.state
JOIN contact_milestones AS m
    ON m.campaign_id = h.campaign_id AND m.contact_id = h.contact_id;

COMMENT ON MACRO TABLE contact_state IS 'contact_state(as_of := latest): each contact''s state in its campaign''s latest complete snapshot at or before as_of, and the furthest funnel stage it reached up to then.';

CREATE OR REPLACE VIEW contact_state AS SELECT * FROM contact_state();
COMMENT ON VIEW contact_state IS 'Each contact''s state in its campaign''s latest snapshot, and the furthest funnel stage it ever reached. For another time: SELECT * FROM contact_state(TIMESTAMPTZ ''2026-11-28 06:00:00+01'').';
COMMENT ON COLUMN contact_state.campaign_id IS 'The campaign.';
COMMENT ON COLUMN contact_state.contact_id IS 'The contact.';
COMMENT ON COLUMN contact_state.snapshot_id IS 'The campaign''s latest complete snapshot at or before the as-of time.';
COMMENT ON COLUMN contact_state.snapshot_time IS 'Its time.';
COMMENT ON COLUMN contact_state.state IS 'State code in that snapshot.';
COMMENT ON COLUMN contact_state.raw_state IS 'The state text as the source sent it.';
COMMENT ON COLUMN contact_state.legacy IS 'True if the source said the legacy Successfully Submitted.';
COMMENT ON COLUMN contact_state.label IS 'The state''s UI label.';
COMMENT ON COLUMN contact_state.category IS 'pending, in_funnel, failed, excluded or other.';
COMMENT ON COLUMN contact_state.funnel_rank IS 'Funnel rank of the current state (0..3).';
COMMENT ON COLUMN contact_state.furthest_rank IS 'Highest funnel rank ever reached up to the snapshot: 0 none, 1 Sent, 2 Delivered, 3 Read.';
COMMENT ON COLUMN contact_state.furthest_stage IS 'sent, delivered, read, or NULL if it never reached Sent.';
COMMENT ON COLUMN contact_state.state_since IS 'Time of the first snapshot of the contact''s current interval in this state (a change of raw text does not start one).';
