-- campaign_daily: each campaign's end-of-day state counts and funnels.
-- One row = one campaign on one local day (params.timezone) in [day_from, day_to] on which it
-- has a complete snapshot. Grain: campaign_id, day. Input: snapshot_counts.
--
-- The day D row is the campaign's last complete snapshot of D (a day in the time zone: midnight
-- to midnight local time, 23 or 25 hours long across a DST change) and history up to it. The
-- columns from campaign_id to legacy_mapped are those of the warehouse's table daily_state (what
-- `campaign-reports build --from-spark` loads); then the funnel now (now_reached_*) and the rates
-- of both funnels as in funnel.sql. The day-to-day *_change columns are left to the warehouse's view campaign_daily.
WITH ends AS (
    SELECT campaign_id, day, max(snapshot_time) AS snapshot_time
    FROM snapshot_counts
    GROUP BY campaign_id, day
)
SELECT
    s.campaign_id,
    s.day,
    s.snapshot_id,
    s.snapshot_time,
    s.contacts,
    s.initial,
    s.in_progress,
    s.retry_scheduled,
    s.sent,
    s.delivered,
    s.read,
    s.delivery_failed,
    s.sending_failed,
    s.error,
    s.invalid_record,
    s.removed,
    s.canceled_by_admin,
    s.other,
    s.reached_sent,
    s.reached_delivered,
    s.reached_read,
    s.legacy_mapped,
    s.now_reached_sent,
    s.now_reached_delivered,
    s.now_reached_read,
    CASE WHEN s.reached_sent > 0 THEN CAST(s.reached_delivered AS DOUBLE) / s.reached_sent END
        AS delivery_rate,
    CASE WHEN s.reached_delivered > 0 THEN CAST(s.reached_read AS DOUBLE) / s.reached_delivered END
        AS read_rate,
    CASE WHEN s.reached_sent > 0 THEN CAST(s.reached_read AS DOUBLE) / s.reached_sent END
        AS read_of_sent,
    CASE
        WHEN s.now_reached_sent > 0
            THEN CAST(s.now_reached_delivered AS DOUBLE) / s.now_reached_sent
    END AS now_delivery_rate,
    CASE
        WHEN s.now_reached_delivered > 0
            THEN CAST(s.now_reached_read AS DOUBLE) / s.now_reached_delivered
    END AS now_read_rate,
    CASE
        WHEN s.now_reached_sent > 0 THEN CAST(s.now_reached_read AS DOUBLE) / s.now_reached_sent
    END AS now_read_of_sent
FROM snapshot_counts AS s
JOIN ends AS e
    ON e.campaign_id = s.campaign_id AND e.day = s.day AND e.snapshot_time = s.snapshot_time
