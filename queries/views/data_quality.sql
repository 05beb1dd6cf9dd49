-- data_quality: what looks wrong in one day's data. One row = one finding: one check that found
-- something in one campaign. Grain: campaign_id, check_name.
-- Parameters: day (DATE or 'YYYY-MM-DD'; default the local day of latest_data_time()),
-- tz (IANA time zone; default the configured one).
--
-- Checks, over the campaign's complete snapshots of the local day (history before it is used to
-- judge them), each with the number of contacts (or rows, snapshots) and an example contact id:
--   unknown_state        contacts listed in a state the catalog does not know (state other);
--                        detail lists the raw values
--   legacy_mapped        contacts listed in the legacy Successfully Submitted state, mapped
--   went_backwards       contacts that moved to a state of a lower funnel rank than they had
--                        reached (e.g. read -> delivered); moves to excluded states (Removed,
--                        Canceled by admin, Invalid record) and to other are not counted
--   vanished             contacts listed in a snapshot and missing from the campaign's next one
--   duplicate_rows       rows repeating a contact within a snapshot, quarantined at ingest (the
--                        contact ids are in the quarantine files, not here)
--   incomplete_snapshot  snapshots published as incomplete, kept out of every number, with the
--                        first one's reason and the age of the last complete one before it
--                        (quality_incomplete)
--   quarantined_rows     rows of the day's snapshots quarantined at ingest, by reason
--                        (quality_quarantine), except exact repeats (duplicate_rows)
--   stale                campaigns stale at the end of the day (campaign_lifecycle: no complete
--                        snapshot for longer than [report] stale_after_hours, not finished), and
--                        file-fed campaigns (lifecycle unknown) with as long a gap: a fact worth
--                        a look, though files cannot say whether the campaign has ended
-- A check that found nothing has no row.
--
-- Only the day's part of the history is read, so the cost follows the day, not all history:
-- went_backwards takes the intervals starting on the day and the highest rank reached before each
-- from contact_milestones (first Read, Delivered, Sent strictly before it: rank 3, 2, 1), and the
-- state before it from that contact's earlier intervals; vanished looks for the contact's next
-- interval among those starting on the day (it would start where the vanished one ends).
-- depends: formulas/params.sql, formulas/state_history.sql, views/defaults.sql
-- depends: views/contact_milestones.sql, views/campaign_lifecycle.sql, views/quality.sql
CREATE OR REPLACE MACRO data_quality(day := NULL, tz := NULL) AS TABLE
WITH p AS (
    SELECT
        coalesce(tz, configured_timezone()) AS zone,
        day_or_latest(day, tz) AS d
),
bounds AS (
    SELECT zone, d, day_start(d, zone) AS d_start, day_start(d + 1, zone) AS d_end FROM p
),
day_snaps AS (
    SELECT
        s.campaign_id,
        min(s.snapshot_time) AS first_time,
        max(s.snapshot_time) AS last_time,
        sum(coalesce(s.duplicate_rows, 0)) AS duplicates
    FROM snapshot_log AS s, bounds AS b
    WHERE s.complete AND s.snapshot_time >= b.d_start AND s.snapshot_time < b.d_end
    GROUP BY s.campaign_id
),
on_day AS (
    -- history intervals in an unknown or the legacy state that cover at least one of the day's
    -- snapshots, read from the two history tables: the open ones, and the closed ones that end
    -- after the day's first snapshot (and so after the day starts: with that, the scan skips
    -- the intervals that ended earlier)
    SELECT h.campaign_id, h.contact_id, h.state, h.raw_state, h.legacy
    FROM history_open AS h
    JOIN day_snaps AS s ON s.campaign_id = h.campaign_id AND h.valid_from <= s.last_time
    WHERE h.state = 'other' OR h.legacy
    UNION ALL
    SELECT h.campaign_id, h.contact_id, h.state, h.raw_state, h.legacy
    FROM history_closed AS h
    JOIN bounds AS b ON h.valid_to > b.d_start
    JOIN day_snaps AS s
        ON s.campaign_id = h.campaign_id
        AND h.valid_from <= s.last_time
        AND h.valid_to > s.first_time
    WHERE h.state = 'other' OR h.legacy
),
started AS (
    -- the intervals that start on the day (a snapshot of the day showed a new state)
    SELECT h.campaign_id, h.contact_id, h.state, h.valid_from
    FROM state_history AS h, bounds AS b
    WHERE h.valid_from >= b.d_start AND h.valid_from < b.d_end
),
backwards AS (
    -- those in a funnel state of a lower rank than the contact reached before it: rank 3, 2, 1
    -- if it was first Read, Delivered, Sent before (the highest rank of its earlier intervals)
    SELECT s.campaign_id, s.contact_id, s.state, s.valid_from
    FROM started AS s
    JOIN catalog AS c ON c.state = s.state
    JOIN contact_milestones AS m ON m.campaign_id = s.campaign_id AND m.contact_id = s.contact_id
    WHERE c.category NOT IN ('excluded', 'other')
        AND c.funnel_rank < CASE
            WHEN m.first_read_at < s.valid_from THEN 3
            WHEN m.first_delivered_at < s.valid_from THEN 2
            WHEN m.first_sent_at < s.valid_from THEN 1
            ELSE 0
        END
),
backwards_from AS (
    -- each with the state of the contact's interval before it (the example's "from")
    SELECT
        k.campaign_id,
        k.contact_id,
        k.state,
        k.valid_from,
        arg_max(h.state, h.valid_from) AS previous_state
    FROM backwards AS k
    JOIN state_history AS h
        ON h.campaign_id = k.campaign_id
        AND h.contact_id = k.contact_id
        AND h.valid_from < k.valid_from
    JOIN catalog AS c ON c.state = h.state  -- as in contact_milestones: catalog states only
    GROUP BY ALL
),
findings AS (
    SELECT
        campaign_id,
        'unknown_state' AS check_name,
        'warning' AS severity,
        CAST(count(DISTINCT contact_id) AS BIGINT) AS findings,
        min(contact_id) AS example_contact_id,
        -- at most 40 characters of each raw value (a longer one is cut, with an ellipsis)
        'raw values: ' || string_agg(
            DISTINCT CASE WHEN length(raw_state) > 40 THEN left(raw_state, 40) || '…'
                ELSE raw_state END,
            ', '
        ) AS detail
    FROM on_day
    WHERE state = 'other'
    GROUP BY campaign_id
    UNION ALL
    SELECT
        campaign_id,
        'legacy_mapped',
        'info',
        count(DISTINCT contact_id),
        min(contact_id),
        'Successfully Submitted counted as ' || string_agg(DISTINCT state, ', ')
    FROM on_day
    WHERE legacy
    GROUP BY campaign_id
    UNION ALL
    SELECT
        campaign_id,
        'went_backwards',
        'warning',
        count(DISTINCT contact_id),
        min(contact_id),
        -- the smallest contact's (first) move of the day
        'e.g. ' || arg_min(previous_state || ' -> ' || state, (contact_id, valid_from))
    FROM backwards_from
    GROUP BY campaign_id
    UNION ALL
    SELECT
        h.campaign_id,
        'vanished',
        'warning',
        count(DISTINCT h.contact_id),
        min(h.contact_id),
        'listed in a snapshot, missing from the next one'
    FROM state_history AS h, bounds AS b
    WHERE h.valid_to >= b.d_start AND h.valid_to < b.d_end
        AND NOT EXISTS (
            -- an interval starting where this one ends, i.e. on the day: it was listed again
            SELECT 1
            FROM started AS n
            WHERE n.campaign_id = h.campaign_id
                AND n.contact_id = h.contact_id
                AND n.valid_from = h.valid_to
        )
    GROUP BY h.campaign_id
    UNION ALL
    SELECT
        campaign_id,
        'duplicate_rows',
        'warning',
        duplicates,
        NULL,
        'rows repeating a contact within a snapshot, quarantined at ingest (see the quarantine files)'
    FROM day_snaps
    WHERE duplicates > 0
    UNION ALL
    SELECT
        i.campaign_id,
        'incomplete_snapshot',
        'info',
        count(*),
        NULL,
        'incomplete snapshot(s) kept out of all numbers: ' || arg_min(i.reason, i.snapshot_time)
        || coalesce('; the last complete one before is ' || CAST(
            arg_min(i.last_complete_age_hours, i.snapshot_time) AS VARCHAR
        ) || ' h older', '; no complete one before')
    FROM quality_incomplete(tz := (SELECT zone FROM bounds)) AS i, bounds AS b
    WHERE i.snapshot_time >= b.d_start AND i.snapshot_time < b.d_end
    GROUP BY i.campaign_id
    UNION ALL
    SELECT
        q.campaign_id,
        'quarantined_rows',
        'warning',
        sum(q.rows),
        NULL,
        'rows not loaded: ' || string_agg(q.rows || ' ' || q.reason, '; ' ORDER BY q.rows DESC, q.reason)
        || ' (see the quarantine files)'
    FROM quality_quarantine(tz := (SELECT zone FROM bounds)) AS q, bounds AS b
    WHERE q.day = b.d AND q.campaign_id IS NOT NULL
        -- exact repeats are the duplicate_rows check (normalize/rows.py DUPLICATE)
        AND q.reason <> 'duplicate row (same contact and state as an earlier row)'
    GROUP BY q.campaign_id
    UNION ALL
    SELECT
        l.campaign_id,
        'stale',
        'warning',
        1,
        NULL,
        'no complete snapshot for ' || CAST(l.hours_since_snapshot AS VARCHAR)
        || ' h at the end of the day; the latest is from ' || strftime(
            timezone(b.zone, l.last_snapshot_time), '%Y-%m-%d %H:%M'
        ) || ' ' || b.zone || CASE
            WHEN l.lifecycle = 'unknown'
                THEN '; fed by files, which do not say whether it has ended '
                || '(ingest --finished marks its end)'
            ELSE ''
        END
    FROM campaign_lifecycle(day := (SELECT d FROM bounds), tz := (SELECT zone FROM bounds)) AS l,
        bounds AS b
    WHERE l.lifecycle = 'stale'
        OR (l.lifecycle = 'unknown' AND l.hours_since_snapshot > (
            SELECT coalesce(max(CAST(value AS DOUBLE)), 26) FROM settings
            WHERE key = 'stale_after_hours'
        ))
)
SELECT
    b.d AS day,
    f.campaign_id,
    f.check_name,
    f.severity,
    CAST(f.findings AS BIGINT) AS findings,
    f.example_contact_id,
    f.detail
FROM findings AS f, bounds AS b
WHERE f.findings > 0;

COMMENT ON MACRO TABLE data_quality IS 'data_quality(day := latest day, tz := configured): one row per check that found something in a campaign on the local day: unknown_state, legacy_mapped, went_backwards, vanished, duplicate_rows, incomplete_snapshot, quarantined_rows, stale.';

CREATE OR REPLACE VIEW data_quality AS SELECT * FROM data_quality();
COMMENT ON VIEW data_quality IS 'Data-quality findings of the latest day (configured time zone). Another day: SELECT * FROM data_quality(DATE ''2026-11-27'').';
COMMENT ON COLUMN data_quality.day IS 'The local day checked.';
COMMENT ON COLUMN data_quality.campaign_id IS 'The campaign.';
COMMENT ON COLUMN data_quality.check_name IS 'unknown_state, legacy_mapped, went_backwards, vanished, duplicate_rows, incomplete_snapshot, quarantined_rows or stale.';
COMMENT ON COLUMN data_quality.severity IS 'warning (look into it) or info (expected, reported for the record).';
COMMENT ON COLUMN data_quality.findings IS 'How many contacts (rows for duplicate_rows and quarantined_rows, snapshots for incomplete_snapshot) the check found.';
COMMENT ON COLUMN data_quality.example_contact_id IS 'One affected contact id (the smallest), if the check is about contacts.';
COMMENT ON COLUMN data_quality.detail IS 'What was found, in words.';
