-- snapshot_list: the complete snapshots the metrics are computed from, in each campaign's order.
-- One row = one complete snapshot of one campaign (with at least one row), on a local day up to
-- the range's last day. Grain: snapshot_id.
-- Inputs: snapshots (the rows of the store's complete snapshot files), params (one row: timezone,
-- stuck_minutes, day_from, day_to; a NULL day is no bound).
--
-- Portable SQL: written in DuckDB's dialect, run as it is by DuckDB and, transpiled by SQLGlot,
-- by Spark (pipeline/spark/portable.py; README, section Spark). Days are calendar days in
-- params.timezone: `AT TIME ZONE` becomes Spark's from_utc_timestamp, which is right only with
-- the Spark session time zone UTC (the job pins it).
-- A snapshot after day_to is left out of everything, as if it had not happened yet: the last
-- snapshot up to then has no next one. An empty snapshot (a file without rows) is not seen here,
-- so it is not in any metric of portable/ (the warehouse counts it: see the README).
--   previous_time / next_time   the campaign's snapshot before / after this one (NULL: none)
--   rows, other_rows, legacy_rows   rows of the snapshot; in state other; legacy (mapped)
--   file                        the Parquet file it was read from, as the engine names it
WITH s AS (
    SELECT
        campaign_id,
        snapshot_id,
        snapshot_time,
        count(*) AS rows,
        count(*) FILTER (WHERE state = 'other') AS other_rows,
        count(*) FILTER (WHERE legacy) AS legacy_rows,
        min(source) AS source,
        min(file) AS file
    FROM snapshots
    GROUP BY campaign_id, snapshot_id, snapshot_time
),
d AS (
    SELECT s.*, CAST(s.snapshot_time AT TIME ZONE p.timezone AS DATE) AS day
    FROM s
    CROSS JOIN params AS p
    WHERE p.day_to IS NULL OR CAST(s.snapshot_time AT TIME ZONE p.timezone AS DATE) <= p.day_to
)
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    day,
    lag(snapshot_time) OVER w AS previous_time,
    lead(snapshot_time) OVER w AS next_time,
    rows,
    other_rows,
    legacy_rows,
    source,
    file
FROM d
WINDOW w AS (PARTITION BY campaign_id ORDER BY snapshot_time)
