-- history_step: extend the compact state history with a batch of new snapshots, set-based.
-- One build step; the build runs it once per chunk of snapshots, in time order.
--
-- Inputs (made by the build):
--   batch_snapshots(campaign_id, snapshot_id, snapshot_time)  complete snapshots to apply; for
--       each campaign all of them are later than its open intervals (a campaign rebuilt from
--       scratch has no history left when this runs)
--   variable batch_files: the absolute paths of their Parquet files (only these are read)
-- Output: batch_intervals(campaign_id, contact_id, state, raw_state, legacy, valid_from,
--   valid_to, first_pos, last_pos, n_rows), then the open intervals of the batch's campaigns are
--   brought up to date with it: intervals that end go to history_closed, new open ones to
--   history_open; the milestones of its contacts are merged in, and its snapshots' campaign
--   days are marked in daily_dirty.
--
-- Method (islands): the open intervals act as snapshot number 0 of each campaign and the new
-- snapshots are numbered 1..n in time order. For one contact and one value (state, raw state,
-- legacy flag), pos - dense_rank() is the same along consecutive snapshots and changes at a gap,
-- so it names an island: one interval. It starts at its first snapshot's time (or the open
-- interval's valid_from) and ends at the time of the snapshot after its last one (the contact
-- changed state or vanished), or stays open if its last one is the newest.
-- n_rows > last_pos - first_pos + 1 means a snapshot listed the contact twice; the build checks
-- for that (check_step.sql) before it writes anything.

CREATE OR REPLACE TEMP TABLE batch_seq AS
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    row_number() OVER w AS pos,
    lead(snapshot_time) OVER w AS next_time
FROM batch_snapshots
WINDOW w AS (PARTITION BY campaign_id ORDER BY snapshot_time);

CREATE OR REPLACE TEMP TABLE batch_intervals AS
WITH points AS (
    SELECT
        s.campaign_id,
        r.contact_id,
        r.state,
        r.raw_state,
        coalesce(r.legacy, false) AS legacy,
        s.pos,
        s.snapshot_time AS t,
        s.next_time
    FROM read_parquet(
        getvariable('batch_files'),
        hive_partitioning = true,
        hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}
    ) AS r
    JOIN batch_seq AS s ON s.snapshot_id = r.snapshot_id
    UNION ALL
    SELECT
        h.campaign_id,
        h.contact_id,
        h.state,
        h.raw_state,
        h.legacy,
        0 AS pos,
        h.valid_from AS t,
        f.first_time AS next_time
    FROM history_open AS h
    JOIN (
        SELECT campaign_id, min(snapshot_time) AS first_time FROM batch_seq GROUP BY campaign_id
    ) AS f ON f.campaign_id = h.campaign_id
),
islands AS (
    SELECT
        *,
        pos - dense_rank() OVER (
            PARTITION BY campaign_id, contact_id, state, raw_state, legacy ORDER BY pos
        ) AS island
    FROM points
)
SELECT
    campaign_id,
    contact_id,
    state,
    raw_state,
    legacy,
    min(t) AS valid_from,
    arg_max_null(next_time, pos) AS valid_to,
    min(pos) AS first_pos,
    max(pos) AS last_pos,
    count(*) AS n_rows
FROM islands
GROUP BY campaign_id, contact_id, state, raw_state, legacy, island;

-- The open intervals that go on unchanged (the same value since the same time, still in the
-- newest snapshot: an island from pos 0 that stays open) are kept as they are; the others end.
DELETE FROM history_open AS h
WHERE h.campaign_id IN (SELECT DISTINCT campaign_id FROM batch_seq)
    AND NOT EXISTS (
        SELECT 1
        FROM batch_intervals AS b
        WHERE b.first_pos = 0
            AND b.valid_to IS NULL
            AND b.campaign_id = h.campaign_id
            AND b.contact_id = h.contact_id
    );

INSERT INTO history_closed
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM batch_intervals
WHERE valid_to IS NOT NULL
ORDER BY campaign_id, contact_id, valid_from;

INSERT INTO history_open
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM batch_intervals
WHERE valid_to IS NULL AND first_pos > 0
ORDER BY campaign_id, contact_id;

-- Milestones: the intervals that begin in this batch (first_pos > 0) can only set a stage's
-- first time where there was none (they are later than every earlier one); least() keeps the
-- earlier time either way. Contacts seen for the first time get a row.
CREATE OR REPLACE TEMP TABLE batch_new AS
SELECT campaign_id, contact_id, state, valid_from
FROM batch_intervals
WHERE first_pos > 0;

MERGE INTO milestones AS m
USING milestones_of('batch_new') AS b
ON m.campaign_id = b.campaign_id AND m.contact_id = b.contact_id
WHEN MATCHED AND (
    least(m.first_seen, b.first_seen) IS DISTINCT FROM m.first_seen
    OR least(m.first_sent_at, b.first_sent_at) IS DISTINCT FROM m.first_sent_at
    OR least(m.first_delivered_at, b.first_delivered_at) IS DISTINCT FROM m.first_delivered_at
    OR least(m.first_read_at, b.first_read_at) IS DISTINCT FROM m.first_read_at
) THEN UPDATE SET
    first_seen = least(m.first_seen, b.first_seen),
    first_sent_at = least(m.first_sent_at, b.first_sent_at),
    first_delivered_at = least(m.first_delivered_at, b.first_delivered_at),
    first_read_at = least(m.first_read_at, b.first_read_at)
WHEN NOT MATCHED THEN INSERT BY NAME;

-- The campaign days of the batch's snapshots: their daily rows are redone (daily_step.sql).
INSERT INTO daily_dirty
SELECT DISTINCT campaign_id, local_day(snapshot_time, configured_timezone()) AS day
FROM batch_seq;
