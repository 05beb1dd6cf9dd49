-- transitions: transitions_of, the formula of state_transitions. One row = one campaign, local
-- day, from_state, to_state: the contacts that moved so between consecutive snapshots.
-- Grain: campaign_id, day, from_state, to_state. Parameters: as below.
--
-- A move is counted on the day of the first snapshot that shows the new state, when the snapshot
-- before it (of the same campaign) showed the contact in the old state. Changes of raw text only
-- are not moves; a contact that vanished and came back is not a move (see data_quality).
-- median_minutes_in_from_state: median time from the first snapshot that showed the old state to
-- the first that showed the new one (resolution: the snapshot interval).
-- The build stores the configured time zone's rows in the table daily_moves
-- (queries/build/daily_step.sql redoes the days that got new snapshots); the macro and view
-- state_transitions (views/state_transitions.sql) read that table, or compute another zone's.
--
-- transitions_of(tz, since, campaigns, enabled): tz (IANA time zone; default the configured
-- one). since (optional): only contacts with an interval that starts at or after it are read
-- (the others made no move since then), so only the rows of days that start at or after it are
-- whole (the build keeps those of the days it redoes). campaigns (optional, a list): only those
-- campaigns. enabled := false reads nothing (state_transitions uses it to skip the formula).
-- depends: formulas/params.sql, formulas/state_history.sql
CREATE OR REPLACE MACRO transitions_of(tz := NULL, since := NULL, campaigns := NULL, enabled := true) AS TABLE
WITH recent AS (
    SELECT campaign_id, contact_id
    FROM history_closed
    WHERE valid_to > since AND valid_from >= since
    UNION ALL
    SELECT campaign_id, contact_id
    FROM history_open
    WHERE valid_from >= since
),
hist AS (
    SELECT *
    FROM state_history
    WHERE enabled
        AND (campaigns IS NULL OR list_contains(campaigns, campaign_id))
        AND (
            since IS NULL
            OR (campaign_id, contact_id) IN (SELECT campaign_id, contact_id FROM recent)
        )
),
marked AS (
    -- starts: the interval begins a stretch in its state (no interval of the contact in the
    -- same state ends when it begins: two values the catalog does not know in a row are one
    -- stretch of other)
    SELECT
        h.*,
        NOT EXISTS (
            SELECT 1
            FROM hist AS p
            WHERE p.campaign_id = h.campaign_id
                AND p.contact_id = h.contact_id
                AND p.state = h.state
                AND p.valid_to = h.valid_from
        ) AS starts
    FROM hist AS h
),
paired AS (
    -- each interval with the one before it, and when the stretch that one is in began (one
    -- pass over each contact's intervals)
    SELECT
        campaign_id,
        contact_id,
        state,
        valid_from,
        lag(state) OVER w AS state_before,
        lag(valid_to) OVER w AS to_before,
        max(CASE WHEN starts THEN valid_from END) OVER (
            w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS since_before
    FROM marked
    WINDOW w AS (PARTITION BY campaign_id, contact_id ORDER BY valid_from)
),
moves AS (
    -- a move: the interval before ends when this one begins, in another state
    SELECT
        campaign_id,
        state_before AS from_state,
        state AS to_state,
        since_before AS from_since,
        valid_from AS moved_at
    FROM paired
    WHERE state_before <> state AND to_before = valid_from
)
SELECT
    m.campaign_id,
    local_day(m.moved_at, coalesce(tz, configured_timezone())) AS day,
    m.from_state,
    m.to_state,
    count(*) AS contacts,
    median(seconds_between(m.from_since, m.moved_at)) / 60.0 AS median_minutes_in_from_state
FROM moves AS m
GROUP BY ALL;

COMMENT ON MACRO TABLE transitions_of IS 'transitions_of(tz := configured, since := NULL): the moves between consecutive snapshots per campaign, local day and from/to state, computed from the history (with since: whole for the days from since on).';
