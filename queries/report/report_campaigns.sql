-- report_campaigns: the campaigns a daily report lists, each with the numbers the report shows.
-- One row = one campaign. Grain: campaign_id.
-- Parameters: report_day (DATE), tz (IANA time zone; default the configured one), days (the
-- report's window, default 30: report_day - days + 1 .. report_day), daily (default NULL; the
-- name of a table made from campaign_daily(tz) once per report, see report_base).
--
-- A campaign is listed when it has a complete snapshot in the window. fresh = it has one on
-- report_day: its row is campaign_daily's row for report_day. Otherwise it is stale: the row is its
-- last day in the window, and the report says "stale since snapshot_time", never passing those
-- numbers off as report_day's. Changes (*_change, *_rate_change) are against the campaign's
-- previous end-of-day snapshot (previous_day: normally report_day - 1; NULL: none before).
-- Rates are NULL on a zero denominator; a rate change is NULL when either rate is.
-- depends: report/report_base.sql, formulas/params.sql, views/defaults.sql
CREATE OR REPLACE MACRO report_campaigns(report_day, tz := NULL, days := 30, daily := NULL) AS TABLE
WITH daily AS (
    SELECT
        *,
        lag(snapshot_id) OVER w AS previous_snapshot_id,
        lag(snapshot_time) OVER w AS previous_snapshot_time,
        lag(delivery_rate) OVER w AS previous_delivery_rate,
        lag(read_rate) OVER w AS previous_read_rate,
        lag(read_of_sent) OVER w AS previous_read_of_sent
    FROM report_base(tz := tz, daily := daily)
    WHERE day <= CAST(report_day AS DATE)
    WINDOW w AS (PARTITION BY campaign_id ORDER BY day)
),
listed AS (
    SELECT *
    FROM daily
    WHERE day > CAST(report_day AS DATE) - CAST(days AS INTEGER)
    QUALIFY row_number() OVER (PARTITION BY campaign_id ORDER BY day DESC) = 1
),
per_day AS (
    SELECT
        campaign_id,
        local_day(snapshot_time, coalesce(tz, configured_timezone())) AS day,
        count(*) FILTER (WHERE complete) AS snapshots_on_day,
        count(*) FILTER (WHERE NOT complete) AS incomplete_snapshots_on_day
    FROM snapshot_log
    GROUP BY ALL
)
SELECT
    l.campaign_id,
    l.day = CAST(report_day AS DATE) AS fresh,
    l.day,
    l.snapshot_id,
    l.snapshot_time,
    coalesce(p.snapshots_on_day, 0) AS snapshots_on_day,
    coalesce(p.incomplete_snapshots_on_day, 0) AS incomplete_snapshots_on_day,
    l.previous_day,
    l.previous_snapshot_id,
    l.previous_snapshot_time,
    l.contacts,
    l.contacts_change,
    l.reached_sent,
    l.reached_sent_change,
    l.reached_delivered,
    l.reached_delivered_change,
    l.reached_read,
    l.reached_read_change,
    l.delivery_rate,
    l.previous_delivery_rate,
    l.delivery_rate - l.previous_delivery_rate AS delivery_rate_change,
    l.read_rate,
    l.previous_read_rate,
    l.read_rate - l.previous_read_rate AS read_rate_change,
    l.read_of_sent,
    l.previous_read_of_sent,
    l.read_of_sent - l.previous_read_of_sent AS read_of_sent_change,
    ratio(l.reached_sent, l.contacts) AS reached_sent_share,
    ratio(l.reached_delivered, l.contacts) AS reached_delivered_share,
    ratio(l.reached_read, l.contacts) AS reached_read_share,
    l.failed,
    l.sending_failed,
    l.error,
    l.delivery_failed,
    ratio(l.sending_failed, l.contacts) AS sending_failed_share,
    ratio(l.error, l.contacts) AS error_share,
    ratio(l.delivery_failed, l.contacts) AS delivery_failed_share,
    l.other,
    l.legacy_mapped
FROM listed AS l
LEFT JOIN per_day AS p ON p.campaign_id = l.campaign_id AND p.day = l.day;

COMMENT ON MACRO TABLE report_campaigns IS 'report_campaigns(report_day, tz, days := 30): the campaigns a daily report lists (fresh: a snapshot on report_day; stale: only earlier in the window), with funnel, rates, failures and the changes from the previous day.';
