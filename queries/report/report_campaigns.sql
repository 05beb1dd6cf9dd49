-- report_campaigns: the campaigns a daily report lists, each with the numbers the report shows.
-- One row = one campaign. Grain: campaign_id.
-- Parameters: report_day (DATE), tz (IANA time zone; default the configured one), days (the
-- report's window, default 30: report_day - days + 1 .. report_day), daily (default NULL; the
-- name of a table made from campaign_daily(tz) once per report, see report_base), listed
-- (default NULL: compute the rows; else the name of a table holding
-- SELECT * FROM report_campaigns(report_day, tz := tz, days := days, daily := daily), made once
-- for that day: its rows are returned as they are).
--
-- A campaign is listed when it has a complete snapshot in the window, or when it is final
-- (finished or canceled, campaign_lifecycle) at the end of report_day, however long ago it ended.
-- fresh = it has a snapshot on report_day: its row is campaign_daily's row for report_day.
-- Otherwise the row is its last day with a snapshot: a final campaign's final numbers (in_totals:
-- counted in the day's totals; its changes are 0, nothing changes any more), or a stale or
-- unknown one's last numbers, which the report never passes off as report_day's (in_totals
-- false). lifecycle, final, lifecycle_reason and hours_since_snapshot come from
-- campaign_lifecycle(report_day). Changes (*_change, *_rate_change) are against the campaign's
-- previous end-of-day snapshot (previous_day: normally report_day - 1; NULL: none before).
-- Rates are NULL on a zero denominator; a rate change is NULL when either rate is.
--
-- report_campaigns_computed (the same parameters but listed) computes the rows. The other report
-- macros read them through report_campaigns and pass listed on, so that a report can compute them
-- once per day (CREATE TEMP TABLE t AS SELECT * FROM report_campaigns(day, ...)) and pass
-- listed := 't' to all of them, instead of computing them again in each. The table is not
-- checked: it must hold the rows of the same report_day, tz, days and daily.
-- depends: report/report_base.sql, formulas/params.sql, views/defaults.sql
-- depends: views/campaign_lifecycle.sql
CREATE OR REPLACE MACRO report_campaigns_computed(report_day, tz := NULL, days := 30, daily := NULL) AS TABLE
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
lifecycle AS (
    SELECT * FROM campaign_lifecycle(day := CAST(report_day AS DATE), tz := tz)
),
listed AS (
    SELECT
        d.*,
        coalesce(c.lifecycle, 'unknown') AS lifecycle,
        coalesce(c.final, false) AS final,
        c.reason AS lifecycle_reason,
        c.hours_since_snapshot,
        -- a final campaign seen on an earlier day: its numbers stand, unchanged on report_day
        coalesce(c.final, false) AND d.day < CAST(report_day AS DATE) AS frozen
    FROM daily AS d
    LEFT JOIN lifecycle AS c ON c.campaign_id = d.campaign_id
    WHERE d.day > CAST(report_day AS DATE) - CAST(days AS INTEGER) OR coalesce(c.final, false)
    QUALIFY row_number() OVER (PARTITION BY d.campaign_id ORDER BY d.day DESC) = 1
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
    l.lifecycle,
    l.final,
    l.day = CAST(report_day AS DATE) OR l.final AS in_totals,
    l.lifecycle_reason,
    l.hours_since_snapshot,
    l.day,
    l.snapshot_id,
    l.snapshot_time,
    coalesce(p.snapshots_on_day, 0) AS snapshots_on_day,
    coalesce(p.incomplete_snapshots_on_day, 0) AS incomplete_snapshots_on_day,
    l.previous_day,
    l.previous_snapshot_id,
    l.previous_snapshot_time,
    l.contacts,
    CASE WHEN l.frozen THEN 0 ELSE l.contacts_change END AS contacts_change,
    l.reached_sent,
    CASE WHEN l.frozen THEN 0 ELSE l.reached_sent_change END AS reached_sent_change,
    l.reached_delivered,
    CASE WHEN l.frozen THEN 0 ELSE l.reached_delivered_change END AS reached_delivered_change,
    l.reached_read,
    CASE WHEN l.frozen THEN 0 ELSE l.reached_read_change END AS reached_read_change,
    l.delivery_rate,
    CASE WHEN l.frozen THEN l.delivery_rate ELSE l.previous_delivery_rate END
        AS previous_delivery_rate,
    l.delivery_rate - CASE WHEN l.frozen THEN l.delivery_rate ELSE l.previous_delivery_rate END
        AS delivery_rate_change,
    l.read_rate,
    CASE WHEN l.frozen THEN l.read_rate ELSE l.previous_read_rate END
        AS previous_read_rate,
    l.read_rate - CASE WHEN l.frozen THEN l.read_rate ELSE l.previous_read_rate END
        AS read_rate_change,
    l.read_of_sent,
    CASE WHEN l.frozen THEN l.read_of_sent ELSE l.previous_read_of_sent END
        AS previous_read_of_sent,
    l.read_of_sent - CASE WHEN l.frozen THEN l.read_of_sent ELSE l.previous_read_of_sent END
        AS read_of_sent_change,
    ratio(l.reached_sent, l.contacts) AS reached_sent_share,
    ratio(l.reached_delivered, l.contacts) AS reached_delivered_share,
    ratio(l.reached_read, l.contacts) AS reached_read_share,
    l.failed,
    ratio(l.failed, l.contacts) AS failed_share,
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

COMMENT ON MACRO TABLE report_campaigns_computed IS 'report_campaigns_computed(report_day, tz, days := 30, daily := NULL): the rows of report_campaigns, always computed (report_campaigns without listed).';

-- listed given: the rows of its table, and computed (never referenced) is not even bound; NULL:
-- query_table reads the CTE computed, which DuckDB inlines (NOT MATERIALIZED).
CREATE OR REPLACE MACRO report_campaigns(report_day, tz := NULL, days := 30, daily := NULL, listed := NULL) AS TABLE
WITH computed AS NOT MATERIALIZED (
    SELECT * FROM report_campaigns_computed(report_day, tz := tz, days := days, daily := daily)
)
SELECT * FROM query_table(coalesce(listed, 'computed'));

COMMENT ON MACRO TABLE report_campaigns IS 'report_campaigns(report_day, tz, days := 30, daily := NULL, listed := NULL): the campaigns a daily report lists (fresh: a snapshot on report_day; final: finished or canceled, listed for ever with its final numbers; otherwise stale or unknown, only earlier in the window), with lifecycle, funnel, rates, failures and the changes from the previous day; or the rows of the table named by listed (made from it once per report day).';
