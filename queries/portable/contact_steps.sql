-- contact_steps: each contact's row of each snapshot, with what the metrics need to know of its
-- history. One row = one contact in one complete snapshot of snapshot_list. Grain: snapshot_id,
-- contact_id. Inputs: snapshots, snapshot_list, catalog.
--
-- The history rules of the warehouse (queries/formulas/), read off consecutive snapshots:
--   listed_before      the contact was in the campaign's previous snapshot (false: its first
--                      appearance, or it had vanished from the one before)
--   last_state         its state in its previous row (meaningful when listed_before)
--   run_start          the first snapshot of its current run in this state: consecutive
--                      snapshots of the campaign, all in this state (raw text or the legacy flag
--                      may change inside a run; a gap starts a new run)
--   previous_run_start the run_start of its previous row (for a move: when the old state began)
--   interval_start / interval_ends   the state history's interval: where this row's interval
--                      began, and whether this row is its last (next_time is then its end).
--                      History is kept on states (a change of raw text or of the legacy flag
--                      inside a state is not a change), so the interval is the run, except in
--                      other: two values the catalog does not know (raw text with case and
--                      spaces folded) are two intervals, as they are not known to be one state
--   run_raw_state / run_legacy   the raw text and legacy flag of the interval's first snapshot
--                      (what the state history keeps of the raw text)
--   furthest_rank      the highest catalog funnel_rank of its rows up to this one (0..3): the
--                      furthest funnel stage it ever reached
--   in_state_seconds   seconds from run_start to this snapshot; moved_after_seconds: from
--                      previous_run_start to this snapshot. Seconds are whole seconds of each
--                      instant since 1970 subtracted (DuckDB's date_diff('second', a, b), also in
--                      Spark, whose own date_diff truncates the difference instead)
WITH r AS (
    SELECT
        s.campaign_id,
        s.contact_id,
        s.snapshot_id,
        s.snapshot_time,
        l.day,
        l.previous_time,
        l.next_time,
        s.state,
        s.raw_state,
        coalesce(s.legacy, false) AS legacy,
        -- what an interval of the state history is kept on: the state, and for a value the
        -- catalog does not know (other) also its raw text, case and spaces folded (two unknown
        -- values are not known to be one state)
        CASE
            WHEN s.state = 'other'
                THEN 'other:' || lower(regexp_replace(trim(s.raw_state), '\s+', ' ', 'g'))
            ELSE s.state
        END AS history_key,
        c.category,
        c.funnel_rank
    FROM snapshots AS s
    JOIN snapshot_list AS l ON l.campaign_id = s.campaign_id AND l.snapshot_id = s.snapshot_id
    JOIN catalog AS c ON c.state = s.state
),
neighbours AS (
    SELECT
        *,
        lag(snapshot_time) OVER w AS last_time,
        lag(state) OVER w AS last_state,
        lead(snapshot_time) OVER w AS following_time,
        lead(state) OVER w AS following_state,
        lag(history_key) OVER w AS last_key,
        lead(history_key) OVER w AS following_key,
        max(funnel_rank) OVER (
            PARTITION BY campaign_id, contact_id
            ORDER BY snapshot_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS furthest_rank
    FROM r
    WINDOW w AS (PARTITION BY campaign_id, contact_id ORDER BY snapshot_time)
),
flagged AS (
    SELECT
        *,
        coalesce(last_time = previous_time, false) AS listed_before,
        NOT coalesce(last_time = previous_time, false) OR last_state <> state AS starts_run,
        NOT coalesce(last_time = previous_time, false)
            OR last_key <> history_key AS starts_interval,
        next_time IS NULL
            OR following_time IS NULL
            OR following_time <> next_time
            OR following_key <> history_key AS interval_ends
    FROM neighbours
),
runs AS (
    SELECT
        *,
        max(CASE WHEN starts_run THEN snapshot_time END) OVER (
            PARTITION BY campaign_id, contact_id
            ORDER BY snapshot_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS run_start,
        max(CASE WHEN starts_run THEN snapshot_time END) OVER (
            PARTITION BY campaign_id, contact_id
            ORDER BY snapshot_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS previous_run_start,
        max(CASE WHEN starts_interval THEN snapshot_time END) OVER (
            PARTITION BY campaign_id, contact_id
            ORDER BY snapshot_time
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS interval_start
    FROM flagged
),
firsts AS (
    SELECT
        *,
        first_value(raw_state) OVER v AS run_raw_state,
        first_value(legacy) OVER v AS run_legacy
    FROM runs
    WINDOW v AS (
        PARTITION BY campaign_id, contact_id, interval_start
        ORDER BY snapshot_time
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
)
SELECT
    campaign_id,
    contact_id,
    snapshot_id,
    snapshot_time,
    day,
    next_time,
    state,
    raw_state,
    legacy,
    run_raw_state,
    run_legacy,
    category,
    funnel_rank,
    furthest_rank,
    listed_before,
    last_state,
    run_start,
    previous_run_start,
    interval_start,
    interval_ends,
    date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', snapshot_time)
        - date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', run_start)
        AS in_state_seconds,
    date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', snapshot_time)
        - date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', previous_run_start)
        AS moved_after_seconds
FROM firsts
