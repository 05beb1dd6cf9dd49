-- state_history: the compact state history. One row = one contact of one campaign in one state
-- (state, raw state and legacy flag unchanged) over a time interval [valid_from, valid_to).
-- Grain: campaign_id, contact_id, valid_from. Parameters: none.
--
-- valid_from is the time of the first snapshot that showed the contact so; valid_to is the time
-- of the first later snapshot that showed it otherwise or did not list it at all (NULL: it is
-- still so in the campaign's latest snapshot). Only complete snapshots are in it. The contact's
-- state at snapshot time t is the row with valid_from <= t < coalesce(valid_to, infinity).
CREATE OR REPLACE VIEW state_history AS
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM history_closed
UNION ALL
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM history_open;

COMMENT ON VIEW state_history IS 'Compact state history: one row per contact per state change, valid over [valid_from, valid_to). valid_to NULL = still so in the latest snapshot.';
COMMENT ON COLUMN state_history.campaign_id IS 'The campaign.';
COMMENT ON COLUMN state_history.contact_id IS 'The contact (mluvii identity id).';
COMMENT ON COLUMN state_history.state IS 'State code (see catalog), other for values the catalog does not know.';
COMMENT ON COLUMN state_history.raw_state IS 'The state text exactly as the source sent it.';
COMMENT ON COLUMN state_history.legacy IS 'True if the source said the legacy Successfully Submitted (mapped to state).';
COMMENT ON COLUMN state_history.valid_from IS 'Time of the first snapshot that showed the contact in this state.';
COMMENT ON COLUMN state_history.valid_to IS 'Time of the first later snapshot that showed it otherwise or not at all; NULL = still in this state.';

-- intervals_at(snaps): the intervals valid at the snapshot times of the table named snaps
-- (columns campaign_id, snapshot_time): one row per contact listed then, with its campaign's
-- snapshot_time and the interval's columns. At a campaign's newest complete snapshot these are
-- the campaign's rows of history_open (no closed interval ends after that snapshot), so only that
-- table is read; an earlier time range-joins the whole state_history.
CREATE OR REPLACE MACRO intervals_at(snaps) AS TABLE
WITH s AS NOT MATERIALIZED (
    SELECT
        q.campaign_id,
        q.snapshot_time,
        q.snapshot_time = n.newest AS at_newest
    FROM query_table(snaps) AS q
    JOIN (
        SELECT campaign_id, max(snapshot_time) AS newest
        FROM snapshot_log
        WHERE complete
        GROUP BY campaign_id
    ) AS n ON n.campaign_id = q.campaign_id
)
SELECT s.snapshot_time, h.*
FROM s
JOIN history_open AS h ON h.campaign_id = s.campaign_id
WHERE s.at_newest
UNION ALL
SELECT s.snapshot_time, h.*
FROM s
JOIN state_history AS h
    ON h.campaign_id = s.campaign_id
    AND h.valid_from <= s.snapshot_time
    AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > s.snapshot_time
WHERE NOT s.at_newest;

COMMENT ON MACRO TABLE intervals_at IS 'intervals_at(snaps): the state_history rows valid at each (campaign_id, snapshot_time) of the named table, with that snapshot_time.';
