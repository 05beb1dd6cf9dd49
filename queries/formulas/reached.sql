-- reached: reached_of(intervals, snaps), the funnel ever at each complete snapshot;
-- states_of(intervals, snaps), its state counts; and reach_hours_of(), when contacts first
-- reached each stage, by hour of the campaign's life.
-- One row = one snapshot of `snaps`. Grain: snapshot_id.
-- Parameters: intervals (the name of a table or view of intervals with the columns campaign_id,
-- contact_id, valid_from, valid_to of state_history, holding every interval that covers a
-- snapshot of `snaps`), snaps (the name of a table of complete snapshots: campaign_id,
-- snapshot_id, snapshot_time; default NULL: every complete snapshot of snapshot_log), base
-- (default NULL; see below).
--
-- reached_sent, reached_delivered, reached_read: the contacts listed in the snapshot, each at the
-- furthest stage it reached up to then (milestones), exactly as funnel(as_of := snapshot_time)
-- counts them. Counted without a join of every contact with every snapshot: each interval adds
-- its contact to a stage from greatest(valid_from, the contact's first time at that stage) to
-- valid_to, and these steps are summed up to each snapshot time. A snapshot's counts depend on
-- the history up to it alone, so they never change once it is counted.
--
-- base: the name of a table of counts already made (the stored snapshot_reached): each
-- campaign's counts then start from its latest row there, and only the steps after that row's
-- time are summed, so `intervals` need only hold the intervals that step after it. The build
-- keeps the table snapshot_reached equal to reached_of('state_history'): each history step
-- (build/history_step.sql) counts its snapshots from the stored counts of its campaigns' last
-- snapshot and the intervals it begins or ends (base := 'snapshot_reached'); an open interval
-- that goes on unchanged steps nothing after that snapshot (its contact's milestones are all
-- earlier). campaign_age reads that table.
-- depends: formulas/params.sql
-- counted_snapshots(snaps): the snapshots reached_of and states_of count: the rows (campaign_id,
-- snapshot_id, snapshot_time) of the table named snaps, or with snaps NULL every complete
-- snapshot of snapshot_log.
CREATE OR REPLACE MACRO counted_snapshots(snaps) AS TABLE
SELECT campaign_id, snapshot_id, snapshot_time
FROM snapshot_log
WHERE complete AND snaps IS NULL
UNION ALL
SELECT campaign_id, snapshot_id, snapshot_time
FROM query_table(coalesce(snaps, 'snapshot_log'))
WHERE snaps IS NOT NULL;

-- latest_counts(base, shape, snaps): with a base (the name of a table of counts per snapshot),
-- the latest row there of each campaign of counted_snapshots(snaps); no row without one (shape:
-- the table whose columns it then has). reached_of and states_of go on from these.
CREATE OR REPLACE MACRO latest_counts(base, shape, snaps) AS TABLE
SELECT *
FROM query_table(coalesce(base, shape))
WHERE base IS NOT NULL AND campaign_id IN (SELECT campaign_id FROM counted_snapshots(snaps))
QUALIFY row_number() OVER (PARTITION BY campaign_id ORDER BY snapshot_time DESC) = 1;

CREATE OR REPLACE MACRO reached_of(intervals, snaps := NULL, base := NULL) AS TABLE
WITH s AS (
    SELECT * FROM counted_snapshots(snaps)
),
b AS (
    -- with a base: each campaign's latest counts there (none: it starts from zero)
    SELECT * FROM latest_counts(base, 'snapshot_reached', snaps)
),
spans AS (
    -- each interval with the time its contact counts at each stage from (NULL: never; greatest
    -- skips a NULL, hence the CASE)
    SELECT
        h.campaign_id,
        h.valid_to,
        coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) AS until,
        CASE WHEN m.first_sent_at IS NOT NULL THEN greatest(h.valid_from, m.first_sent_at) END
            AS sent_from,
        CASE WHEN m.first_delivered_at IS NOT NULL THEN greatest(h.valid_from, m.first_delivered_at) END
            AS delivered_from,
        CASE WHEN m.first_read_at IS NOT NULL THEN greatest(h.valid_from, m.first_read_at) END
            AS read_from
    FROM query_table(intervals) AS h
    JOIN milestones AS m
        ON m.campaign_id = h.campaign_id AND m.contact_id = h.contact_id
),
steps AS (
    SELECT campaign_id, sent_from AS t, 1 AS d_sent, 0 AS d_delivered, 0 AS d_read
    FROM spans WHERE sent_from < until
    UNION ALL
    SELECT campaign_id, delivered_from, 0, 1, 0 FROM spans WHERE delivered_from < until
    UNION ALL
    SELECT campaign_id, read_from, 0, 0, 1 FROM spans WHERE read_from < until
    UNION ALL
    SELECT
        campaign_id,
        valid_to,
        -CAST(sent_from < until AS INTEGER),
        -CAST(delivered_from < until AS INTEGER),
        -CAST(read_from < until AS INTEGER)
    FROM spans
    WHERE valid_to IS NOT NULL AND sent_from < until
),
running AS (
    SELECT
        campaign_id,
        t,
        sum(sum(d_sent)) OVER w AS reached_sent,
        sum(sum(d_delivered)) OVER w AS reached_delivered,
        sum(sum(d_read)) OVER w AS reached_read
    FROM steps
    WHERE NOT EXISTS (
        SELECT 1 FROM b WHERE b.campaign_id = steps.campaign_id AND steps.t <= b.snapshot_time
    )
    GROUP BY campaign_id, t
    WINDOW w AS (PARTITION BY campaign_id ORDER BY t)
)
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    CAST(coalesce(b.reached_sent, 0) + coalesce(r.reached_sent, 0) AS BIGINT) AS reached_sent,
    CAST(coalesce(b.reached_delivered, 0) + coalesce(r.reached_delivered, 0) AS BIGINT)
        AS reached_delivered,
    CAST(coalesce(b.reached_read, 0) + coalesce(r.reached_read, 0) AS BIGINT) AS reached_read
FROM s
LEFT JOIN b ON b.campaign_id = s.campaign_id
ASOF LEFT JOIN running AS r
    ON r.campaign_id = s.campaign_id AND r.t <= s.snapshot_time;

COMMENT ON MACRO TABLE reached_of IS 'reached_of(intervals, snaps := NULL, base := NULL): per complete snapshot (of the named table, default all of snapshot_log), its contacts that reached Sent, Delivered and Read up to then (funnel ever), from the named table of intervals (snapshot_reached = reached_of(''state_history'')); with base, from each campaign''s latest counts in that table on.';

-- states_of(intervals, snaps := NULL): per complete snapshot (of `snaps`, as reached_of), its
-- contacts in each state and how many of its contacts' intervals start or end at it.
-- One row = one snapshot. Grain: snapshot_id. Parameters: as reached_of (`intervals` also needs
-- the column state).
--
-- contacts and initial .. other: the contacts the snapshot lists, and in each state (exclusive:
-- they sum to contacts), as day_counts counts them at a day's last snapshot. changed: intervals
-- that begin or end at the snapshot (a contact that appeared, changed state or vanished; 0: it
-- showed nothing new), so that a campaign's last change up to a time is the last snapshot with
-- changed > 0 (campaign_lifecycle). Counted as reached_of does: each interval adds 1 to its state
-- at valid_from and takes it back at valid_to, and these steps are summed up to each snapshot.
--
-- The build keeps the table snapshot_states equal to states_of('state_history') (each history
-- step counts its snapshots from the stored counts and the intervals it begins or ends, base :=
-- 'snapshot_states', as for reached_of); the daily rows (day_rows in formulas/daily.sql) and
-- campaign_lifecycle read it.
CREATE OR REPLACE MACRO states_of(intervals, snaps := NULL, base := NULL) AS TABLE
WITH s AS (
    SELECT * FROM counted_snapshots(snaps)
),
b AS (
    -- with a base: each campaign's latest counts there (as in reached_of)
    SELECT * FROM latest_counts(base, 'snapshot_states', snaps)
),
steps AS (
    SELECT campaign_id, valid_from AS t, state, 1 AS d FROM query_table(intervals)
    UNION ALL
    SELECT campaign_id, valid_to, state, -1 FROM query_table(intervals) WHERE valid_to IS NOT NULL
),
per_time AS (
    SELECT
        campaign_id,
        t,
        count(*) AS changed,
        sum(d) AS d_contacts,
        sum(d) FILTER (WHERE state = 'initial') AS d_initial,
        sum(d) FILTER (WHERE state = 'in_progress') AS d_in_progress,
        sum(d) FILTER (WHERE state = 'retry_scheduled') AS d_retry_scheduled,
        sum(d) FILTER (WHERE state = 'sent') AS d_sent,
        sum(d) FILTER (WHERE state = 'delivered') AS d_delivered,
        sum(d) FILTER (WHERE state = 'read') AS d_read,
        sum(d) FILTER (WHERE state = 'delivery_failed') AS d_delivery_failed,
        sum(d) FILTER (WHERE state = 'sending_failed') AS d_sending_failed,
        sum(d) FILTER (WHERE state = 'error') AS d_error,
        sum(d) FILTER (WHERE state = 'invalid_record') AS d_invalid_record,
        sum(d) FILTER (WHERE state = 'removed') AS d_removed,
        sum(d) FILTER (WHERE state = 'canceled_by_admin') AS d_canceled_by_admin,
        sum(d) FILTER (WHERE state = 'other') AS d_other
    FROM steps
    WHERE NOT EXISTS (
        SELECT 1 FROM b WHERE b.campaign_id = steps.campaign_id AND steps.t <= b.snapshot_time
    )
    GROUP BY campaign_id, t
),
running AS (
    SELECT
        campaign_id,
        t,
        changed,
        sum(d_contacts) OVER w AS contacts,
        sum(d_initial) OVER w AS initial,
        sum(d_in_progress) OVER w AS in_progress,
        sum(d_retry_scheduled) OVER w AS retry_scheduled,
        sum(d_sent) OVER w AS sent,
        sum(d_delivered) OVER w AS delivered,
        sum(d_read) OVER w AS read,
        sum(d_delivery_failed) OVER w AS delivery_failed,
        sum(d_sending_failed) OVER w AS sending_failed,
        sum(d_error) OVER w AS error,
        sum(d_invalid_record) OVER w AS invalid_record,
        sum(d_removed) OVER w AS removed,
        sum(d_canceled_by_admin) OVER w AS canceled_by_admin,
        sum(d_other) OVER w AS other
    FROM per_time
    WINDOW w AS (PARTITION BY campaign_id ORDER BY t)
)
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    CAST(coalesce(b.contacts, 0) + coalesce(r.contacts, 0) AS BIGINT) AS contacts,
    CAST(coalesce(b.initial, 0) + coalesce(r.initial, 0) AS BIGINT) AS initial,
    CAST(coalesce(b.in_progress, 0) + coalesce(r.in_progress, 0) AS BIGINT) AS in_progress,
    CAST(coalesce(b.retry_scheduled, 0) + coalesce(r.retry_scheduled, 0) AS BIGINT)
        AS retry_scheduled,
    CAST(coalesce(b.sent, 0) + coalesce(r.sent, 0) AS BIGINT) AS sent,
    CAST(coalesce(b.delivered, 0) + coalesce(r.delivered, 0) AS BIGINT) AS delivered,
    CAST(coalesce(b.read, 0) + coalesce(r.read, 0) AS BIGINT) AS read,
    CAST(coalesce(b.delivery_failed, 0) + coalesce(r.delivery_failed, 0) AS BIGINT)
        AS delivery_failed,
    CAST(coalesce(b.sending_failed, 0) + coalesce(r.sending_failed, 0) AS BIGINT) AS sending_failed,
    CAST(coalesce(b.error, 0) + coalesce(r.error, 0) AS BIGINT) AS error,
    CAST(coalesce(b.invalid_record, 0) + coalesce(r.invalid_record, 0) AS BIGINT) AS invalid_record,
    CAST(coalesce(b.removed, 0) + coalesce(r.removed, 0) AS BIGINT) AS removed,
    CAST(coalesce(b.canceled_by_admin, 0) + coalesce(r.canceled_by_admin, 0) AS BIGINT)
        AS canceled_by_admin,
    CAST(coalesce(b.other, 0) + coalesce(r.other, 0) AS BIGINT) AS other,
    CAST(CASE WHEN r.t = s.snapshot_time THEN r.changed ELSE 0 END AS BIGINT) AS changed
FROM s
LEFT JOIN b ON b.campaign_id = s.campaign_id
ASOF LEFT JOIN running AS r
    ON r.campaign_id = s.campaign_id AND r.t <= s.snapshot_time;

COMMENT ON MACRO TABLE states_of IS 'states_of(intervals, snaps := NULL, base := NULL): per complete snapshot (of the named table, default all of snapshot_log), its contacts in each state and the intervals that begin or end at it (changed), from the named table of intervals (snapshot_states = states_of(''state_history'')); with base, from each campaign''s latest counts in that table on.';

-- reach_hours_of(): per campaign, funnel stage and whole hour since the campaign's first
-- complete snapshot, the contacts that first reached the stage in that hour (milestones).
-- One row = one campaign, stage (sent, delivered, read) and hour with at least one contact.
-- Grain: campaign_id, stage, hour. Parameters: none.
--
-- The build keeps the table reach_hours equal to it: each history step moves the contacts whose
-- milestones it changes from their old hour to their new one (build/history_step.sql); the
-- attention list's comparison with peers at the same age (views/attention_rates.sql) reads it.
-- life_hour(start, t): the whole hour of a campaign's life that instant t falls in, counted from
-- its start (0 for the first hour): reach_hours_of and the history step's updates share it.
CREATE OR REPLACE MACRO life_hour(start, t) AS
    CAST(floor(seconds_between(start, t) / 3600) AS BIGINT);

CREATE OR REPLACE MACRO reach_hours_of() AS TABLE
WITH starts AS (
    SELECT campaign_id, min(snapshot_time) AS first_time
    FROM snapshot_log
    WHERE complete
    GROUP BY campaign_id
)
SELECT
    campaign_id,
    stage,
    life_hour(first_time, reached_at) AS hour,
    count(*) AS contacts
FROM (
    UNPIVOT (
        SELECT m.campaign_id, s.first_time, m.first_sent_at AS sent,
            m.first_delivered_at AS delivered, m.first_read_at AS read
        FROM milestones AS m
        JOIN starts AS s ON s.campaign_id = m.campaign_id
    )
    ON sent, delivered, read
    INTO NAME stage VALUE reached_at
)
GROUP BY ALL;

COMMENT ON MACRO TABLE reach_hours_of IS 'reach_hours_of(): per campaign, stage (sent, delivered, read) and whole hour since its first complete snapshot, the contacts that first reached the stage then (reach_hours = reach_hours_of()).';
