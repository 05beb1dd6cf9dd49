-- history_step: extend the compact state history with a batch of new snapshots, set-based.
-- One build step; the build runs it once per chunk of snapshots, in time order.
-- One row of its output batch_intervals = one contact of one campaign in one state over an
-- interval, as in state_history (with the positions of its first and last snapshot).
--
-- Inputs (made by the build):
--   batch_snapshots(campaign_id, snapshot_id, snapshot_time)  complete snapshots to apply; for
--       each campaign all of them are later than its open intervals (a campaign rebuilt from
--       scratch has no history left when this runs)
--   variable batch_files: the absolute paths of their Parquet files (only these are read)
-- Output: batch_intervals(campaign_id, contact_id, state, raw_state, legacy, valid_from,
--   valid_to, first_pos, last_pos, n_rows), then the open intervals of the batch's campaigns are
--   brought up to date with it: intervals that end go to history_closed, new open ones to
--   history_open; the milestones of its contacts are merged in (and the hours they were reached
--   in, reach_hours), its snapshots' funnel ever and state counts are counted on from the
--   stored ones into snapshot_reached and snapshot_states, and its snapshots' campaign days are
--   marked in daily_dirty.
--
-- History is kept on states, not on raw text: an interval changes only when the state (the
-- catalog code) changes. A change of raw text inside one state (letter case, spaces, CALLING /
-- CALL_IN_PROGRESS, WA_SENT / legacy SUCCESS) is not a change; raw_state and legacy are those
-- of the interval's first snapshot. The one exception is other: two values the catalog does not
-- know (raw text with case and spaces folded) are not known to be one state, so each keeps its
-- own intervals (history_key: the state, or for other its folded raw text).
--
-- Method: the open intervals act as snapshot number 0 of each campaign and the new snapshots
-- are numbered 1..n in time order (n <= 126: the build cuts chunks so). The batch's few
-- distinct raw values (state, raw state, legacy flag) are numbered (batch_raw_values), so that
-- the aggregates carry a number, not text (a NULL raw state or legacy flag is a value too, as
-- in a GROUP BY). One hash aggregation makes a group per contact and raw value with its first
-- and last position, its row count and a bit mask of its positions (batch_raw_groups); a
-- second, much smaller one merges the raw values of each contact and state (batch_groups),
-- keeping the raw value of the first position. Most groups are one island of consecutive
-- snapshots (rows = last - first + 1): one interval, from its first snapshot's time (or the open
-- interval's valid_from) to the time of the snapshot after its last one (the contact changed
-- state or vanished), or open if its last one is the newest. A group with gaps (the contact
-- left the state and came back) is split into its runs of consecutive positions, read off its
-- mask; each run takes the raw value whose mask has the run's first position. check_step.sql
-- checks that no snapshot lists a contact twice (then each group's rows are as many as the
-- bits of its mask, and a contact's groups share no bit).

CREATE OR REPLACE TEMP TABLE batch_seq AS
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    row_number() OVER w AS pos,
    lead(snapshot_time) OVER w AS next_time
FROM batch_snapshots
WINDOW w AS (PARTITION BY campaign_id ORDER BY snapshot_time);

-- The batch's rows and its campaigns' open intervals (position 0), as points in time.
CREATE OR REPLACE TEMP VIEW batch_points AS
SELECT
    s.campaign_id,
    r.contact_id,
    r.state,
    r.raw_state,
    coalesce(r.legacy, false) AS legacy,
    s.pos,
    s.snapshot_time AS t
FROM read_parquet(
    getvariable('batch_files'),
    hive_partitioning = true,
    hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}
) AS r
JOIN batch_seq AS s ON s.snapshot_id = r.snapshot_id
UNION ALL
SELECT h.campaign_id, h.contact_id, h.state, h.raw_state, h.legacy, 0 AS pos, h.valid_from AS t
FROM history_open AS h
WHERE h.campaign_id IN (SELECT campaign_id FROM batch_seq);

-- The few distinct raw values (state, raw text, legacy flag) of the points, numbered: the
-- aggregates below carry this number instead of the text.
CREATE OR REPLACE TEMP TABLE batch_raw_values AS
SELECT
    row_number() OVER (ORDER BY state, raw_state, legacy) AS raw_id,
    state,
    raw_state,
    legacy,
    CASE
        WHEN state = 'other'
            THEN 'other:' || lower(regexp_replace(trim(raw_state), '\s+', ' ', 'g'))
        ELSE state
    END AS history_key
FROM (SELECT DISTINCT state, raw_state, legacy FROM batch_points);

CREATE OR REPLACE TEMP TABLE batch_raw_groups AS
SELECT
    p.campaign_id,
    p.contact_id,
    v.history_key,
    v.raw_id,
    min(p.t) AS valid_from,
    min(p.pos) AS first_pos,
    max(p.pos) AS last_pos,
    count(*) AS n_rows,
    bit_or(CAST(1 AS HUGEINT) << CAST(p.pos AS HUGEINT)) AS mask
FROM batch_points AS p
JOIN batch_raw_values AS v
    ON v.state = p.state
    AND v.raw_state IS NOT DISTINCT FROM p.raw_state
    AND v.legacy IS NOT DISTINCT FROM p.legacy
GROUP BY p.campaign_id, p.contact_id, v.history_key, v.raw_id;

CREATE OR REPLACE TEMP TABLE batch_groups AS
SELECT
    campaign_id,
    contact_id,
    history_key,
    arg_min(raw_id, first_pos) AS raw_id,
    min(valid_from) AS valid_from,
    min(first_pos) AS first_pos,
    max(last_pos) AS last_pos,
    sum(n_rows) AS n_rows,
    bit_or(mask) AS mask
FROM batch_raw_groups
GROUP BY campaign_id, contact_id, history_key;

CREATE OR REPLACE TEMP TABLE batch_intervals AS
WITH seq AS (
    -- each position's snapshot time and the next one's; position 0 (the open intervals) is
    -- followed by the batch's first snapshot
    SELECT campaign_id, pos, snapshot_time, next_time FROM batch_seq
    UNION ALL
    SELECT campaign_id, 0, NULL, min(snapshot_time) FROM batch_seq GROUP BY campaign_id
),
gapped AS (
    -- the positions of the groups with gaps, numbered along each group
    SELECT
        g.campaign_id,
        g.contact_id,
        g.history_key,
        g.valid_from AS group_from,
        p.pos,
        p.pos - row_number() OVER (
            PARTITION BY g.campaign_id, g.contact_id, g.history_key
            ORDER BY p.pos
        ) AS island
    FROM batch_groups AS g
    CROSS JOIN LATERAL (SELECT unnest(range(g.first_pos, g.last_pos + 1)) AS pos) AS p
    WHERE g.n_rows <> g.last_pos - g.first_pos + 1
        AND (g.mask >> CAST(p.pos AS HUGEINT)) & 1 = 1
),
runs AS (
    SELECT
        campaign_id,
        contact_id,
        history_key,
        any_value(group_from) AS group_from,
        min(pos) AS first_pos,
        max(pos) AS last_pos,
        count(*) AS n_rows
    FROM gapped
    GROUP BY campaign_id, contact_id, history_key, island
)
SELECT
    g.campaign_id,
    g.contact_id,
    v.state,
    v.raw_state,
    v.legacy,
    g.valid_from,
    l.next_time AS valid_to,
    g.first_pos,
    g.last_pos,
    g.n_rows
FROM batch_groups AS g
JOIN seq AS l ON l.campaign_id = g.campaign_id AND l.pos = g.last_pos
JOIN batch_raw_values AS v ON v.raw_id = g.raw_id
WHERE g.n_rows = g.last_pos - g.first_pos + 1
UNION ALL
SELECT
    r.campaign_id,
    r.contact_id,
    v.state,
    v.raw_state,
    v.legacy,
    CASE WHEN r.first_pos = 0 THEN r.group_from ELSE f.snapshot_time END AS valid_from,
    l.next_time AS valid_to,
    r.first_pos,
    r.last_pos,
    r.n_rows
FROM runs AS r
JOIN seq AS f ON f.campaign_id = r.campaign_id AND f.pos = r.first_pos
JOIN seq AS l ON l.campaign_id = r.campaign_id AND l.pos = r.last_pos
JOIN batch_raw_groups AS g
    ON g.campaign_id = r.campaign_id
    AND g.contact_id = r.contact_id
    AND g.history_key = r.history_key
    AND (g.mask >> CAST(r.first_pos AS HUGEINT)) & 1 = 1
JOIN batch_raw_values AS v ON v.raw_id = g.raw_id;

-- The open intervals that go on unchanged (the same value since the same time, still in the
-- newest snapshot: an island from pos 0 that stays open) are kept as they are; the others end.
-- Each open interval is position 0 of exactly one run, so it ends when that run does.
DELETE FROM history_open AS h
WHERE EXISTS (
    SELECT 1
    FROM batch_intervals AS b
    WHERE b.first_pos = 0
        AND b.valid_to IS NOT NULL
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

CREATE OR REPLACE TEMP TABLE batch_milestones AS
SELECT * FROM milestones_of('batch_new');

-- reach_hours: each contact whose milestones change here moves, per stage, from the hour of its
-- old time (if any) to the hour of its new one, counted from its campaign's first complete
-- snapshot (the logged one, or for a campaign new in this batch its first snapshot here: the
-- batch is later than every logged snapshot). Worked out before the merge below.
CREATE OR REPLACE TEMP TABLE batch_hours AS
WITH starts AS (
    SELECT f.campaign_id, coalesce(l.first_time, f.first_time) AS first_time
    FROM (SELECT campaign_id, min(snapshot_time) AS first_time FROM batch_seq GROUP BY ALL) AS f
    LEFT JOIN (
        SELECT campaign_id, min(snapshot_time) AS first_time
        FROM snapshot_log
        WHERE complete AND campaign_id IN (SELECT campaign_id FROM batch_seq)
        GROUP BY ALL
    ) AS l USING (campaign_id)
),
moved AS (
    SELECT
        b.campaign_id,
        o.first_sent_at AS old_sent,
        least(o.first_sent_at, b.first_sent_at) AS new_sent,
        o.first_delivered_at AS old_delivered,
        least(o.first_delivered_at, b.first_delivered_at) AS new_delivered,
        o.first_read_at AS old_read,
        least(o.first_read_at, b.first_read_at) AS new_read
    FROM batch_milestones AS b
    LEFT JOIN milestones AS o ON o.campaign_id = b.campaign_id AND o.contact_id = b.contact_id
),
stages AS (
    -- per contact and stage, its old and new time (either may be NULL)
    SELECT
        m.campaign_id,
        k.stage,
        CASE k.stage WHEN 'sent' THEN m.old_sent WHEN 'delivered' THEN m.old_delivered
            ELSE m.old_read END AS old_at,
        CASE k.stage WHEN 'sent' THEN m.new_sent WHEN 'delivered' THEN m.new_delivered
            ELSE m.new_read END AS new_at
    FROM moved AS m
    CROSS JOIN (VALUES ('sent'), ('delivered'), ('read')) AS k(stage)
),
deltas AS (
    SELECT campaign_id, stage, new_at AS reached_at, 1 AS d
    FROM stages WHERE new_at IS DISTINCT FROM old_at AND new_at IS NOT NULL
    UNION ALL
    SELECT campaign_id, stage, old_at, -1
    FROM stages WHERE new_at IS DISTINCT FROM old_at AND old_at IS NOT NULL
)
SELECT
    d.campaign_id,
    d.stage,
    life_hour(s.first_time, d.reached_at) AS hour,
    sum(d.d) AS contacts
FROM deltas AS d
JOIN starts AS s ON s.campaign_id = d.campaign_id
GROUP BY ALL
HAVING sum(d.d) <> 0;

MERGE INTO reach_hours AS r
USING batch_hours AS b
ON r.campaign_id = b.campaign_id AND r.stage = b.stage AND r.hour = b.hour
WHEN MATCHED THEN UPDATE SET contacts = r.contacts + b.contacts
WHEN NOT MATCHED THEN INSERT BY NAME;

DELETE FROM reach_hours
WHERE contacts = 0 AND campaign_id IN (SELECT DISTINCT campaign_id FROM batch_hours);

MERGE INTO milestones AS m
USING batch_milestones AS b
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

-- The funnel ever and the state counts at each of the batch's snapshots (after the milestones
-- above): each campaign's counts at its last counted snapshot (the one its open intervals
-- cover), plus the steps after it of the intervals that begin or end in the batch. An open
-- interval that goes on unchanged steps nothing after it: its contact's milestones are all
-- earlier (a milestone that changes here begins an interval here).
CREATE OR REPLACE TEMP TABLE batch_changed AS
SELECT campaign_id, contact_id, state, valid_from, valid_to
FROM batch_intervals
WHERE first_pos > 0 OR valid_to IS NOT NULL;

INSERT INTO snapshot_reached
SELECT * FROM reached_of('batch_changed', snaps := 'batch_seq', base := 'snapshot_reached')
ORDER BY campaign_id, snapshot_time;

INSERT INTO snapshot_states
SELECT * FROM states_of('batch_changed', snaps := 'batch_seq', base := 'snapshot_states')
ORDER BY campaign_id, snapshot_time;

-- The campaign days of the batch's snapshots: their daily rows are redone (daily_step.sql).
INSERT INTO daily_dirty
SELECT DISTINCT campaign_id, local_day(snapshot_time, configured_timezone()) AS day
FROM batch_seq;
