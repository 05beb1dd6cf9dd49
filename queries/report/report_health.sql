-- report_health: how fresh the data is and what the jobs missed, for the daily overview.
--
-- report_freshness(day, tz := configured, days := 30)
--   One row = one campaign with a complete snapshot in the `days` days up to the end of local day
--   `day`. Grain: campaign_id. Columns: the latest complete snapshot before the day's end, its age
--   at the day's end in hours, and how many snapshots of the day were published incomplete (kept
--   out of every number).
-- report_export_problems(day)
--   One row = one export run that failed, or that caught up missed hours, since the report before
--   `day` was rendered (run_problems in views/runs.sql). Grain: run_id. Empty without a scheduler.
-- depends: formulas/params.sql, views/runs.sql
CREATE OR REPLACE MACRO report_freshness(day, tz := NULL, days := 30) AS TABLE
WITH bounds AS (
    SELECT
        day_start(CAST(day AS DATE), coalesce(tz, configured_timezone())) AS day_begin,
        day_start(CAST(day AS DATE) + 1, coalesce(tz, configured_timezone())) AS day_end,
        day_start(CAST(day AS DATE) + 1 - days, coalesce(tz, configured_timezone())) AS window_begin
)
SELECT
    s.campaign_id,
    max(s.snapshot_time) FILTER (WHERE s.complete) AS latest_complete,
    round(date_diff('minute', max(s.snapshot_time) FILTER (WHERE s.complete),
                    any_value(b.day_end)) / 60.0, 1) AS age_hours,
    count(*) FILTER (WHERE NOT s.complete AND s.snapshot_time >= b.day_begin) AS incomplete_on_day
FROM snapshot_log AS s, bounds AS b
WHERE s.snapshot_time < b.day_end AND s.snapshot_time >= b.window_begin
GROUP BY s.campaign_id
HAVING max(s.snapshot_time) FILTER (WHERE s.complete) IS NOT NULL
ORDER BY latest_complete, s.campaign_id;

COMMENT ON MACRO TABLE report_freshness IS 'report_freshness(day, tz := configured, days := 30): per campaign, the latest complete snapshot before the end of the local day, its age then in hours, and incomplete snapshots of the day.';

CREATE OR REPLACE MACRO report_export_problems(day) AS TABLE
SELECT job, problem, started, ended, missed, missed_since, error
FROM run_problems(day)
WHERE kind = 'export'
ORDER BY started;

COMMENT ON MACRO TABLE report_export_problems IS 'report_export_problems(day): export runs that failed or caught up missed hours since the report before `day` was rendered.';
