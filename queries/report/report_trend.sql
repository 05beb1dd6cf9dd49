-- report_trend: the history a daily report draws (sparklines, states over time).
-- One row = one campaign on one local day of the window that has a complete snapshot.
-- Grain: campaign_id, day. Parameters: report_day (DATE), tz, days, daily (as
-- report_campaigns).
-- Days without a snapshot have no row: the report draws them as gaps, never as zeros.
-- depends: report/report_base.sql
CREATE OR REPLACE MACRO report_trend(report_day, tz := NULL, days := 30, daily := NULL) AS TABLE
SELECT
    day, campaign_id, snapshot_id, snapshot_time, contacts,
    initial, in_progress, retry_scheduled, sent, delivered, read, delivery_failed,
    sending_failed, error, invalid_record, removed, canceled_by_admin, other,
    reached_sent, reached_delivered, reached_read, delivery_rate, read_rate, read_of_sent
FROM report_base(tz := tz, daily := daily)
WHERE day <= CAST(report_day AS DATE)
    AND day > CAST(report_day AS DATE) - CAST(days AS INTEGER)
ORDER BY campaign_id, day;

COMMENT ON MACRO TABLE report_trend IS 'report_trend(report_day, tz, days := 30): per campaign and day of the window, the end-of-day counts and funnel (days without a snapshot have no row).';
