-- stuck_contacts: contacts in In progress or Retry scheduled for longer than a threshold (the
-- vendor says these states pass quickly). The one stuck rule: the views, the stuck counts per
-- snapshot and every stuck figure of the reports (card, warning, CSV, totals) read stuck_at.
-- One row = one contact. Grain: campaign_id, contact_id (stuck_at: and snapshot_time).
--
-- The rule: a contact is stuck at a snapshot when the snapshot shows it in In progress or Retry
-- scheduled and the real time elapsed since the first snapshot of its current run in that state
-- is strictly longer than the threshold, to the second. The run is the contact's interval of the
-- state history (history is kept on states: a change of raw text such as CALLING ->
-- CALL_IN_PROGRESS or letter case does not restart it; a snapshot that does not list the contact
-- ends it). Elapsed time is whole seconds between the two instants (seconds_between, as
-- date_diff('second') of two TIMESTAMPTZ: absolute time, the same across a DST change), never
-- truncated to minutes.
--
-- stuck_at(snaps, threshold_minutes, measured_at): the stuck contacts at each (campaign_id,
-- snapshot_time) of the table named snaps; time is measured to that snapshot_time, or to
-- measured_at if given. threshold_minutes: default the configured stuck_after_minutes (60).
-- Only intervals of those states that last longer than the threshold can hold a stuck contact,
-- so only those are joined with the snapshots (cheap for every snapshot of a tenant).
--
-- stuck_contacts(as_of, threshold_minutes): as of a time (TIMESTAMPTZ or ISO text; default
-- latest_data_time()): each campaign's latest complete snapshot at or before as_of, measured to
-- as_of. The view stuck_contacts (no parentheses) is as of the latest data with the configured
-- threshold.
-- depends: views/latest_snapshots.sql, formulas/state_history.sql, views/defaults.sql
-- depends: formulas/params.sql
CREATE OR REPLACE MACRO stuck_at(snaps, threshold_minutes := NULL, measured_at := NULL) AS TABLE
WITH p AS (
    SELECT CAST(round(60 * coalesce(threshold_minutes, configured_stuck_minutes(), 60)) AS BIGINT)
        AS threshold_seconds
),
long_runs AS (
    -- the runs in those states that last (or may still last) longer than the threshold
    SELECT h.campaign_id, h.contact_id, h.state, h.valid_from, h.valid_to
    FROM history_closed AS h, p
    WHERE h.state IN ('in_progress', 'retry_scheduled')
        AND seconds_between(h.valid_from, h.valid_to) > p.threshold_seconds
    UNION ALL
    SELECT h.campaign_id, h.contact_id, h.state, h.valid_from, h.valid_to
    FROM history_open AS h
    WHERE h.state IN ('in_progress', 'retry_scheduled')
),
measured AS (
    SELECT
        s.campaign_id,
        s.snapshot_time,
        h.contact_id,
        h.state,
        h.valid_from AS in_state_since,
        seconds_between(
            h.valid_from, coalesce(CAST(measured_at AS TIMESTAMPTZ), s.snapshot_time)
        ) AS seconds_in_state
    FROM query_table(snaps) AS s
    JOIN long_runs AS h
        ON h.campaign_id = s.campaign_id
        AND h.valid_from <= s.snapshot_time
        AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > s.snapshot_time
)
SELECT
    m.campaign_id,
    m.snapshot_time,
    m.contact_id,
    m.state,
    c.label,
    m.in_state_since,
    m.seconds_in_state,
    m.seconds_in_state / 60.0 AS minutes_in_state
FROM measured AS m
JOIN catalog AS c ON c.state = m.state
CROSS JOIN p
WHERE m.seconds_in_state > p.threshold_seconds;

COMMENT ON MACRO TABLE stuck_at IS 'stuck_at(snaps, threshold_minutes := configured, measured_at := NULL): the stuck contacts at each (campaign_id, snapshot_time) of the named table: In progress or Retry scheduled for strictly longer than the threshold since the first snapshot of the current run in that state, to the second.';

CREATE OR REPLACE MACRO stuck_contacts(as_of := NULL, threshold_minutes := NULL) AS TABLE
WITH snaps AS (
    SELECT campaign_id, snapshot_time FROM latest_snapshots(as_of)
)
SELECT
    campaign_id,
    contact_id,
    state,
    label,
    in_state_since,
    snapshot_time AS last_seen_at,
    minutes_in_state,
    seconds_in_state
FROM stuck_at(
    'snaps',
    threshold_minutes := threshold_minutes,
    measured_at := coalesce(CAST(as_of AS TIMESTAMPTZ), latest_data_time())
);

COMMENT ON MACRO TABLE stuck_contacts IS 'stuck_contacts(as_of := latest, threshold_minutes := configured): contacts in In progress or Retry scheduled for strictly more than threshold_minutes at as_of, since the first snapshot of their current run in that state (to the second).';

CREATE OR REPLACE VIEW stuck_contacts AS SELECT * FROM stuck_contacts();
COMMENT ON VIEW stuck_contacts IS 'Contacts in In progress or Retry scheduled for longer than the configured threshold, as of the latest data.';
COMMENT ON COLUMN stuck_contacts.campaign_id IS 'The campaign.';
COMMENT ON COLUMN stuck_contacts.contact_id IS 'The contact.';
COMMENT ON COLUMN stuck_contacts.state IS 'in_progress or retry_scheduled.';
COMMENT ON COLUMN stuck_contacts.label IS 'The state''s UI label.';
COMMENT ON COLUMN stuck_contacts.in_state_since IS 'First snapshot of the contact''s current run in this state (a change of raw text does not restart it).';
COMMENT ON COLUMN stuck_contacts.last_seen_at IS 'Latest snapshot (at or before as-of) that showed it in this state.';
COMMENT ON COLUMN stuck_contacts.minutes_in_state IS 'seconds_in_state / 60.';
COMMENT ON COLUMN stuck_contacts.seconds_in_state IS 'Whole seconds from in_state_since to the as-of time (real elapsed time, DST-safe).';
