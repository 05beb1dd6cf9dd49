-- intervals_at: the state history's intervals valid at given snapshot times.
-- One row = one contact listed at one (campaign_id, snapshot_time) of the table named snaps, with
-- that snapshot_time and the interval's columns. Grain: campaign_id, snapshot_time, contact_id.
-- Parameters: snaps (the name of a table with columns campaign_id, snapshot_time).
--
-- At a campaign's newest complete snapshot these are the campaign's rows of history_open (no
-- closed interval ends after that snapshot), so only that table is read; an earlier time
-- range-joins the whole state_history.
-- depends: formulas/state_history.sql
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
