-- stuck_contacts: contacts in In progress or Retry scheduled for longer than a threshold (the
-- vendor says these states pass quickly).
-- One row = one contact. Grain: campaign_id, contact_id.
-- Parameters: as_of (TIMESTAMPTZ or ISO text; default latest_data_time()), threshold_minutes
-- (default the configured stuck_after_minutes, 60).
--
-- The contact's state is the one in its campaign's latest complete snapshot at or before as_of
-- (contact_state). minutes_in_state runs from the first of the consecutive snapshots that showed
-- the contact in that state to as_of; the contact is stuck if it is more than threshold_minutes.
-- When that snapshot is the campaign's newest complete one (always, as of the latest data), its
-- contacts are the campaign's rows of history_open; only an earlier one needs state_history.
-- The view stuck_contacts (no parentheses) is as of the latest data with the configured threshold.
-- depends: views/latest_snapshots.sql, views/intervals_at.sql, formulas/state_history.sql
-- depends: views/defaults.sql
CREATE OR REPLACE MACRO stuck_contacts(as_of := NULL, threshold_minutes := NULL) AS TABLE
WITH snaps AS (
    SELECT campaign_id, snapshot_time FROM latest_snapshots(as_of)
),
cur AS (
    -- the contacts in those states at the snapshot (as contact_state(as_of) gives them)
    SELECT i.campaign_id, i.contact_id, i.state, c.label, i.snapshot_time
    FROM intervals_at('snaps') AS i
    JOIN catalog AS c ON c.state = i.state
    WHERE i.state IN ('in_progress', 'retry_scheduled')
),
marked AS (
    -- the candidates' history up to their snapshot, to find where the current run started
    SELECT
        h.campaign_id,
        h.contact_id,
        h.valid_from,
        CASE
            WHEN lag(h.state) OVER w = h.state AND lag(h.valid_to) OVER w = h.valid_from THEN 0
            ELSE 1
        END AS starts
    FROM state_history AS h
    JOIN cur AS c
        ON c.campaign_id = h.campaign_id
        AND c.contact_id = h.contact_id
        AND h.valid_from <= c.snapshot_time
    WINDOW w AS (PARTITION BY h.campaign_id, h.contact_id ORDER BY h.valid_from)
),
since AS (
    SELECT campaign_id, contact_id, max(valid_from) FILTER (WHERE starts = 1) AS in_state_since
    FROM marked
    GROUP BY campaign_id, contact_id
),
p AS (
    SELECT
        coalesce(CAST(as_of AS TIMESTAMPTZ), latest_data_time()) AS as_of_time,
        coalesce(threshold_minutes, configured_stuck_minutes(), 60) AS threshold
),
measured AS (
    SELECT
        c.campaign_id,
        c.contact_id,
        c.state,
        c.label,
        s.in_state_since,
        c.snapshot_time AS last_seen_at,
        date_diff('second', s.in_state_since, p.as_of_time) / 60.0 AS minutes_in_state,
        p.threshold
    FROM cur AS c
    JOIN since AS s USING (campaign_id, contact_id)
    CROSS JOIN p
)
SELECT
    campaign_id,
    contact_id,
    state,
    label,
    in_state_since,
    last_seen_at,
    minutes_in_state
FROM measured
WHERE minutes_in_state > threshold;

COMMENT ON MACRO TABLE stuck_contacts IS 'stuck_contacts(as_of := latest, threshold_minutes := configured): contacts in In progress or Retry scheduled for more than threshold_minutes at as_of.';

CREATE OR REPLACE VIEW stuck_contacts AS SELECT * FROM stuck_contacts();
COMMENT ON VIEW stuck_contacts IS 'Contacts in In progress or Retry scheduled for longer than the configured threshold, as of the latest data.';
COMMENT ON COLUMN stuck_contacts.campaign_id IS 'The campaign.';
COMMENT ON COLUMN stuck_contacts.contact_id IS 'The contact.';
COMMENT ON COLUMN stuck_contacts.state IS 'in_progress or retry_scheduled.';
COMMENT ON COLUMN stuck_contacts.label IS 'The state''s UI label.';
COMMENT ON COLUMN stuck_contacts.in_state_since IS 'First of the consecutive snapshots that showed it in this state.';
COMMENT ON COLUMN stuck_contacts.last_seen_at IS 'Latest snapshot (at or before as-of) that showed it in this state.';
COMMENT ON COLUMN stuck_contacts.minutes_in_state IS 'Minutes from in_state_since to the as-of time.';
