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
--   incomplete_snapshot  snapshots published as incomplete, kept out of every number
--   stale                campaigns with earlier data but no complete snapshot on the day
-- A check that found nothing has no row.
CREATE OR REPLACE MACRO data_quality(day := NULL, tz := NULL) AS TABLE
WITH p AS (
    SELECT
        coalesce(tz, configured_timezone()) AS zone,
        coalesce(
            CAST(day AS DATE), local_day(latest_data_time(), coalesce(tz, configured_timezone()))
        ) AS d
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
    -- history intervals that cover at least one of the day's snapshots
    SELECT h.*
    FROM state_history AS h
    JOIN day_snaps AS s
        ON s.campaign_id = h.campaign_id
        AND h.valid_from <= s.last_time
        AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > s.first_time
),
ranked AS (
    -- every interval up to the day's end, with the highest rank reached before it
    SELECT
        h.campaign_id,
        h.contact_id,
        h.state,
        h.valid_from,
        c.funnel_rank,
        c.category,
        max(c.funnel_rank) OVER (
            PARTITION BY h.campaign_id, h.contact_id ORDER BY h.valid_from
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS reached_before,
        lag(h.state) OVER (PARTITION BY h.campaign_id, h.contact_id ORDER BY h.valid_from)
            AS previous_state
    FROM state_history AS h
    JOIN catalog AS c ON c.state = h.state
    JOIN bounds AS b ON h.valid_from < b.d_end
),
findings AS (
    SELECT
        campaign_id,
        'unknown_state' AS check_name,
        'warning' AS severity,
        CAST(count(DISTINCT contact_id) AS BIGINT) AS findings,
        min(contact_id) AS example_contact_id,
        'raw values: ' || string_agg(DISTINCT raw_state, ', ' ORDER BY raw_state) AS detail
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
        r.campaign_id,
        'went_backwards',
        'warning',
        count(DISTINCT r.contact_id),
        min(r.contact_id),
        'e.g. ' || arg_min(r.previous_state || ' -> ' || r.state, r.contact_id)
    FROM ranked AS r, bounds AS b
    WHERE r.valid_from >= b.d_start
        AND r.funnel_rank < r.reached_before
        AND r.category NOT IN ('excluded', 'other')
    GROUP BY r.campaign_id
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
            SELECT 1
            FROM state_history AS n
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
        s.campaign_id,
        'incomplete_snapshot',
        'info',
        count(*),
        NULL,
        'incomplete snapshots kept out of all numbers, e.g. ' || min(s.snapshot_id)
    FROM snapshot_log AS s, bounds AS b
    WHERE NOT s.complete AND s.snapshot_time >= b.d_start AND s.snapshot_time < b.d_end
    GROUP BY s.campaign_id
    UNION ALL
    SELECT
        s.campaign_id,
        'stale',
        'warning',
        1,
        NULL,
        'no complete snapshot on the day; the latest is from ' || strftime(
            timezone(any_value(b.zone), max(s.snapshot_time)), '%Y-%m-%d %H:%M'
        ) || ' ' || any_value(b.zone)
    FROM snapshot_log AS s, bounds AS b
    WHERE s.complete AND s.snapshot_time < b.d_start
        AND s.campaign_id NOT IN (SELECT campaign_id FROM day_snaps)
    GROUP BY s.campaign_id
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

COMMENT ON MACRO TABLE data_quality IS 'data_quality(day := latest day, tz := configured): one row per check that found something in a campaign on the local day: unknown_state, legacy_mapped, went_backwards, vanished, duplicate_rows, incomplete_snapshot, stale.';

CREATE OR REPLACE VIEW data_quality AS SELECT * FROM data_quality();
COMMENT ON VIEW data_quality IS 'Data-quality findings of the latest day (configured time zone). Another day: SELECT * FROM data_quality(DATE ''2026-11-27'').';
COMMENT ON COLUMN data_quality.day IS 'The local day checked.';
COMMENT ON COLUMN data_quality.campaign_id IS 'The campaign.';
COMMENT ON COLUMN data_quality.check_name IS 'unknown_state, legacy_mapped, went_backwards, vanished, duplicate_rows, incomplete_snapshot or stale.';
COMMENT ON COLUMN data_quality.severity IS 'warning (look into it) or info (expected, reported for the record).';
COMMENT ON COLUMN data_quality.findings IS 'How many contacts (rows for duplicate_rows, snapshots for incomplete_snapshot) the check found.';
COMMENT ON COLUMN data_quality.example_contact_id IS 'One affected contact id (the smallest), if the check is about contacts.';
COMMENT ON COLUMN data_quality.detail IS 'What was found, in words.';
