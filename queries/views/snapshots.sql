-- snapshots: every row of every published complete snapshot, with the catalog joined in.
-- One row = one contact in one snapshot. Grain: snapshot_id, contact_id. Parameters: none.
--
-- It is the compact history expanded back: a contact is in a snapshot when one of its history
-- intervals covers the snapshot's time (a test checks its states equal the Parquet files'; its
-- raw_state and legacy are the interval's, from the interval's first snapshot). Snapshots
-- the manifest does not list, and incomplete ones (snapshot_log.complete = false), are not in it.
-- depends: formulas/state_history.sql
CREATE OR REPLACE VIEW snapshots AS
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    h.contact_id,
    h.state,
    h.raw_state,
    h.legacy,
    c.label,
    c.category,
    c.funnel_stage,
    c.funnel_rank
FROM snapshot_log AS s
JOIN state_history AS h
    ON h.campaign_id = s.campaign_id
    AND h.valid_from <= s.snapshot_time
    AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > s.snapshot_time
JOIN catalog AS c ON c.state = h.state
WHERE s.complete;

COMMENT ON VIEW snapshots IS 'Every contact of every published complete snapshot, with its state and the catalog (label, category, funnel stage). One row per snapshot and contact.';
COMMENT ON COLUMN snapshots.campaign_id IS 'The campaign.';
COMMENT ON COLUMN snapshots.snapshot_id IS 'The snapshot (see snapshot_log).';
COMMENT ON COLUMN snapshots.snapshot_time IS 'When the source said these states (UTC instant).';
COMMENT ON COLUMN snapshots.contact_id IS 'The contact (mluvii identity id).';
COMMENT ON COLUMN snapshots.state IS 'State code, or other for values the catalog does not know.';
COMMENT ON COLUMN snapshots.raw_state IS 'The state text as the source sent it in the first snapshot of the contact''s interval in this state (history is kept on states; the store has every snapshot''s own text).';
COMMENT ON COLUMN snapshots.legacy IS 'True if that first snapshot said the legacy Successfully Submitted.';
COMMENT ON COLUMN snapshots.label IS 'The state''s UI label.';
COMMENT ON COLUMN snapshots.category IS 'pending, in_funnel, failed, excluded or other.';
COMMENT ON COLUMN snapshots.funnel_stage IS 'Funnel stage this state has reached: sent, delivered, read or NULL.';
COMMENT ON COLUMN snapshots.funnel_rank IS '0 = not sent, 1 = Sent, 2 = Delivered, 3 = Read.';
