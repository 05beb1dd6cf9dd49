-- report_days: the local days that have data, for choosing the default report day.
-- One row = one local day with at least one complete snapshot. Grain: day.
-- Parameters: tz (IANA time zone; default the configured one).
-- The default day of `campaign-reports report` is max(day): the latest day with data, never the
-- wall clock.
-- depends: formulas/params.sql
CREATE OR REPLACE MACRO report_days(tz := NULL) AS TABLE
SELECT
    local_day(snapshot_time, coalesce(tz, configured_timezone())) AS day,
    count(DISTINCT campaign_id) AS campaigns,
    count(*) AS snapshots
FROM snapshot_log
WHERE complete
GROUP BY ALL
ORDER BY day;

COMMENT ON MACRO TABLE report_days IS 'report_days(tz := configured): the local days with at least one complete snapshot, with their campaigns and snapshots.';
