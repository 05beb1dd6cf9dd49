-- daily: the formulas of campaign_daily's counts. day_ends(tz): one row = one campaign on one
-- local day on which it has a complete snapshot, with the last complete snapshot of that day.
-- day_counts(ends, ...): one row = one row of the table named `ends`, with the end-of-day state
-- counts and funnel of campaign_daily. Grain of both: campaign_id, day.
-- Parameters: as listed per macro.
--
-- day_rows(ends) gives the rows of day_counts(ends) from the counts the build keeps per snapshot.
-- The build stores them for the configured time zone's days in the table daily_state
-- (queries/build/daily_step.sql redoes the days that got new snapshots); the macro and view
-- campaign_daily (views/campaign_daily.sql) read that table, or another zone's day_rows.
-- depends: formulas/params.sql
CREATE OR REPLACE MACRO day_ends(tz := NULL) AS TABLE
SELECT
    campaign_id,
    local_day(snapshot_time, coalesce(tz, configured_timezone())) AS day,
    arg_max(snapshot_id, snapshot_time) AS snapshot_id,
    max(snapshot_time) AS snapshot_time
FROM snapshot_log
WHERE complete
GROUP BY ALL;

COMMENT ON MACRO TABLE day_ends IS 'day_ends(tz := configured): per campaign and local day with a complete snapshot, the last complete snapshot of the day.';

-- day_counts(ends, since, enabled): the counts of campaign_daily for the rows of the table named
-- `ends` (columns of day_ends), from the history: the formula that day_rows and the stored
-- daily_state must equal (the tests compare them). since (optional): an instant no snapshot of
-- `ends` is earlier than; the intervals that closed at or before it cannot count and are not
-- read. campaigns (optional, a list): only their history is read (the rows of `ends` must be of
-- those campaigns). enabled := false reads nothing: each table is cut by it before the joins,
-- so that a call whose `enabled` is only known when the query runs costs nothing either.
CREATE OR REPLACE MACRO day_counts(ends, since := NULL, campaigns := NULL, enabled := true) AS TABLE
WITH h AS (
    SELECT campaign_id, contact_id, state, valid_from, valid_to
    FROM history_closed
    WHERE enabled
        AND valid_to > coalesce(since, '-infinity'::TIMESTAMPTZ)
        AND (campaigns IS NULL OR list_contains(campaigns, campaign_id))
    UNION ALL
    SELECT campaign_id, contact_id, state, valid_from, valid_to
    FROM history_open
    WHERE enabled AND (campaigns IS NULL OR list_contains(campaigns, campaign_id))
)
SELECT
    d.campaign_id,
    d.day,
    d.snapshot_id,
    d.snapshot_time,
    count(h.contact_id) AS contacts,
    count(*) FILTER (WHERE h.state = 'initial') AS initial,
    count(*) FILTER (WHERE h.state = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE h.state = 'retry_scheduled') AS retry_scheduled,
    count(*) FILTER (WHERE h.state = 'sent') AS sent,
    count(*) FILTER (WHERE h.state = 'delivered') AS delivered,
    count(*) FILTER (WHERE h.state = 'read') AS read,
    count(*) FILTER (WHERE h.state = 'delivery_failed') AS delivery_failed,
    count(*) FILTER (WHERE h.state = 'sending_failed') AS sending_failed,
    count(*) FILTER (WHERE h.state = 'error') AS error,
    count(*) FILTER (WHERE h.state = 'invalid_record') AS invalid_record,
    count(*) FILTER (WHERE h.state = 'removed') AS removed,
    count(*) FILTER (WHERE h.state = 'canceled_by_admin') AS canceled_by_admin,
    count(*) FILTER (WHERE h.state = 'other') AS other,
    count(*) FILTER (WHERE m.first_sent_at <= d.snapshot_time) AS reached_sent,
    count(*) FILTER (WHERE m.first_delivered_at <= d.snapshot_time) AS reached_delivered,
    count(*) FILTER (WHERE m.first_read_at <= d.snapshot_time) AS reached_read,
    -- rows of the snapshot in the legacy state: counted at publication from each row's raw text
    -- (the history keeps only an interval's first raw value)
    coalesce(any_value(g.legacy_rows), 0) AS legacy_mapped
FROM query_table(ends) AS d
LEFT JOIN (SELECT * FROM snapshot_log WHERE enabled) AS g ON g.snapshot_id = d.snapshot_id
LEFT JOIN h
    ON h.campaign_id = d.campaign_id
    AND h.valid_from <= d.snapshot_time
    AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > d.snapshot_time
LEFT JOIN (SELECT * FROM milestones WHERE enabled) AS m
    ON m.campaign_id = h.campaign_id AND m.contact_id = h.contact_id
WHERE enabled
GROUP BY d.campaign_id, d.day, d.snapshot_id, d.snapshot_time;

COMMENT ON MACRO TABLE day_counts IS 'day_counts(ends, since := NULL): end-of-day state counts and funnel for the campaign days of the named table (columns of day_ends).';

-- day_rows(ends): the same rows as day_counts(ends), read from the counts the build keeps per
-- snapshot (snapshot_states: contacts and each state; snapshot_reached: the funnel ever) instead
-- of from the history: a day's row is its last snapshot's. The build's daily step stores them
-- (daily_state), and campaign_daily computes another zone's days with it.
CREATE OR REPLACE MACRO day_rows(ends) AS TABLE
SELECT
    d.campaign_id,
    d.day,
    d.snapshot_id,
    d.snapshot_time,
    st.contacts,
    st.initial,
    st.in_progress,
    st.retry_scheduled,
    st.sent,
    st.delivered,
    st.read,
    st.delivery_failed,
    st.sending_failed,
    st.error,
    st.invalid_record,
    st.removed,
    st.canceled_by_admin,
    st.other,
    r.reached_sent,
    r.reached_delivered,
    r.reached_read,
    coalesce(g.legacy_rows, 0) AS legacy_mapped
FROM query_table(ends) AS d
JOIN snapshot_states AS st ON st.snapshot_id = d.snapshot_id
JOIN snapshot_reached AS r ON r.snapshot_id = d.snapshot_id
LEFT JOIN snapshot_log AS g ON g.snapshot_id = d.snapshot_id;

COMMENT ON MACRO TABLE day_rows IS 'day_rows(ends): day_counts(ends) from the counts kept per snapshot (snapshot_states, snapshot_reached): each row of the named table of day ends with its snapshot''s counts.';
