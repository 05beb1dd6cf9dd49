-- quality: data-quality totals per campaign and local day, one macro (and view) per question.
-- Parameters: tz (IANA time zone; default the configured one); day where said (DATE; default
-- the local day of latest_data_time()). Each view without parentheses: configured zone, all days
-- (or the latest day for the per-day ones).
--
--   quality_backward_moves(tz)   one row = campaign, day, from_state -> to_state that goes back
--                                in the funnel (the from state's funnel rank is higher than the
--                                to state's, e.g. read -> delivered), moves = contacts that made
--                                it that day (state_transitions); moves to excluded states
--                                (Removed, Canceled by admin, Invalid record) and to other are
--                                not backward
--   quality_values(day, tz)      one row = campaign and raw value of the day's complete
--                                snapshots that the catalog does not know (kind unknown_value)
--                                or that is the legacy Successfully Submitted (kind
--                                legacy_mapped): rows (contacts summed over the day's
--                                snapshots) and contacts; raw_value is at most 40 characters
--                                (longer ones are cut and end in an ellipsis), raw_length the
--                                full length
--   quality_contacts(tz)         one row = campaign and day with vanished contacts (listed in a
--                                snapshot, missing from the campaign's next one) or contacts with
--                                a gap (listed again after missing: counted on the day they come
--                                back)
--   quality_quarantine(tz)       one row = campaign, day and reason of rows quarantined at ingest
--                                (day of their snapshot time, or of the load when the time was
--                                unreadable), with rows and files
--   quality_incomplete(tz)       one row = incomplete snapshot (kept out of every number): its
--                                reason as the load recorded it, the campaign's last complete
--                                snapshot before it and that one's age then, in hours
-- depends: formulas/params.sql, formulas/state_history.sql, views/defaults.sql
-- depends: views/state_transitions.sql
CREATE OR REPLACE MACRO quality_backward_moves(tz := NULL) AS TABLE
SELECT t.campaign_id, t.day, t.from_state, t.to_state, CAST(t.contacts AS BIGINT) AS moves
FROM state_transitions(tz := tz) AS t
JOIN catalog AS f ON f.state = t.from_state
JOIN catalog AS o ON o.state = t.to_state
WHERE o.category NOT IN ('excluded', 'other')
    AND coalesce(f.funnel_rank, 0) > coalesce(o.funnel_rank, 0)
ORDER BY t.campaign_id, t.day, t.from_state, t.to_state;

CREATE OR REPLACE MACRO quality_values(day := NULL, tz := NULL) AS TABLE
WITH b AS (
    SELECT day_start(d, zone) AS d_start, day_start(d + 1, zone) AS d_end, d
    FROM (
        SELECT
            coalesce(tz, configured_timezone()) AS zone,
            day_or_latest(day, tz) AS d
    )
),
snaps AS (
    SELECT s.campaign_id, s.snapshot_time
    FROM snapshot_log AS s, b
    WHERE s.complete AND s.snapshot_time >= b.d_start AND s.snapshot_time < b.d_end
),
listed AS (
    -- each contact in each of the day's snapshots, in an unknown or the legacy state
    SELECT
        h.campaign_id,
        h.contact_id,
        CASE WHEN h.state = 'other' THEN 'unknown_value' ELSE 'legacy_mapped' END AS kind,
        h.raw_state
    FROM state_history AS h
    JOIN snaps AS s
        ON s.campaign_id = h.campaign_id
        AND h.valid_from <= s.snapshot_time
        AND (h.valid_to IS NULL OR h.valid_to > s.snapshot_time)
    WHERE h.state = 'other' OR h.legacy
)
SELECT
    (SELECT d FROM b) AS day,
    campaign_id,
    kind,
    CASE
        WHEN length(raw_state) > 40 THEN left(raw_state, 40) || '…'
        ELSE raw_state
    END AS raw_value,
    length(raw_state) AS raw_length,
    count(*) AS rows,
    count(DISTINCT contact_id) AS contacts
FROM listed
GROUP BY ALL
ORDER BY campaign_id, kind, rows DESC, raw_value;

CREATE OR REPLACE MACRO quality_contacts(tz := NULL) AS TABLE
WITH runs AS (
    SELECT
        campaign_id,
        contact_id,
        valid_from,
        valid_to,
        lead(valid_from) OVER (PARTITION BY campaign_id, contact_id ORDER BY valid_from) AS next_from
    FROM state_history
),
events AS (
    -- vanished: an interval ends and none starts where it ends; back: the next one starts later
    SELECT campaign_id, contact_id, valid_to AS event_time, 'vanished' AS what
    FROM runs
    WHERE valid_to IS NOT NULL AND next_from IS DISTINCT FROM valid_to
    UNION ALL
    SELECT campaign_id, contact_id, next_from, 'gap'
    FROM runs
    WHERE next_from > valid_to
)
SELECT
    campaign_id,
    local_day(event_time, coalesce(tz, configured_timezone())) AS day,
    count(DISTINCT contact_id) FILTER (WHERE what = 'vanished') AS vanished_contacts,
    count(DISTINCT contact_id) FILTER (WHERE what = 'gap') AS gap_contacts
FROM events
GROUP BY ALL
ORDER BY campaign_id, day;

CREATE OR REPLACE MACRO quality_quarantine(tz := NULL) AS TABLE
SELECT
    campaign_id,
    local_day(coalesce(snapshot_time, loaded_at), coalesce(tz, configured_timezone())) AS day,
    reason,
    sum(rows)::BIGINT AS rows,
    count(DISTINCT file) AS files
FROM quarantine_summary
GROUP BY ALL
ORDER BY campaign_id, day, rows DESC, reason;

CREATE OR REPLACE MACRO quality_incomplete(tz := NULL) AS TABLE
WITH before AS (
    SELECT
        s.snapshot_id,
        max(c.snapshot_time) AS last_complete_time
    FROM snapshot_log AS s
    LEFT JOIN snapshot_log AS c
        ON c.complete AND c.campaign_id = s.campaign_id AND c.snapshot_time < s.snapshot_time
    WHERE NOT s.complete
    GROUP BY s.snapshot_id
)
SELECT
    s.campaign_id,
    local_day(s.snapshot_time, coalesce(tz, configured_timezone())) AS day,
    s.snapshot_id,
    s.snapshot_time,
    coalesce(r.reason, 'not recorded') AS reason,
    b.last_complete_time,
    round(seconds_between(b.last_complete_time, s.snapshot_time) / 3600.0, 1)
        AS last_complete_age_hours
FROM snapshot_log AS s
JOIN before AS b USING (snapshot_id)
LEFT JOIN incomplete_reasons AS r USING (snapshot_id)
ORDER BY s.campaign_id, s.snapshot_time;

COMMENT ON MACRO TABLE quality_backward_moves IS 'quality_backward_moves(tz := configured): per campaign, day and state pair, the moves back in the funnel (e.g. read -> delivered), from state_transitions.';
COMMENT ON MACRO TABLE quality_values IS 'quality_values(day := latest, tz): per campaign, the raw values of the day''s snapshots that are unknown (state other) or legacy, with rows and contacts; raw_value cut at 40 characters.';
COMMENT ON MACRO TABLE quality_contacts IS 'quality_contacts(tz := configured): per campaign and day, contacts that vanished and contacts that came back after a gap.';
COMMENT ON MACRO TABLE quality_quarantine IS 'quality_quarantine(tz := configured): per campaign, day and reason, rows quarantined at ingest.';
COMMENT ON MACRO TABLE quality_incomplete IS 'quality_incomplete(tz := configured): each incomplete snapshot with its reason and the campaign''s last complete snapshot before it.';

CREATE OR REPLACE VIEW quality_backward_moves AS SELECT * FROM quality_backward_moves();
COMMENT ON VIEW quality_backward_moves IS 'Moves back in the funnel per campaign, day and state pair (configured time zone).';
COMMENT ON COLUMN quality_backward_moves.moves IS 'Contacts that made this move on this day.';
CREATE OR REPLACE VIEW quality_values AS SELECT * FROM quality_values();
COMMENT ON VIEW quality_values IS 'Unknown and legacy raw values of the latest day, per campaign, with rows and contacts.';
COMMENT ON COLUMN quality_values.kind IS 'unknown_value (state other) or legacy_mapped (Successfully Submitted, counted as Sent).';
COMMENT ON COLUMN quality_values.raw_value IS 'The raw text, at most 40 characters (a longer one is cut and ends in an ellipsis).';
COMMENT ON COLUMN quality_values.rows IS 'Contacts with this value summed over the day''s complete snapshots.';
COMMENT ON COLUMN quality_values.contacts IS 'Distinct contacts with this value on the day.';
CREATE OR REPLACE VIEW quality_contacts AS SELECT * FROM quality_contacts();
COMMENT ON VIEW quality_contacts IS 'Vanished contacts and contacts back after a gap, per campaign and day (configured time zone).';
COMMENT ON COLUMN quality_contacts.vanished_contacts IS 'Contacts listed in a snapshot and missing from the campaign''s next one, counted on the day of that next snapshot.';
COMMENT ON COLUMN quality_contacts.gap_contacts IS 'Contacts listed again after missing from one or more snapshots, counted on the day they came back.';
CREATE OR REPLACE VIEW quality_quarantine AS SELECT * FROM quality_quarantine();
COMMENT ON VIEW quality_quarantine IS 'Rows quarantined at ingest per campaign, day and reason (configured time zone).';
COMMENT ON COLUMN quality_quarantine.rows IS 'Rows quarantined for this reason.';
COMMENT ON COLUMN quality_quarantine.files IS 'Quarantine files they are in (quarantine/<date>/...).';
CREATE OR REPLACE VIEW quality_incomplete AS SELECT * FROM quality_incomplete();
COMMENT ON VIEW quality_incomplete IS 'Incomplete snapshots (kept out of every number) with their reason and the last complete snapshot before each.';
COMMENT ON COLUMN quality_incomplete.reason IS 'Why the snapshot is incomplete, as its load recorded it (not recorded: an older store or a file).';
COMMENT ON COLUMN quality_incomplete.last_complete_age_hours IS 'Hours from the last complete snapshot to this incomplete one.';
