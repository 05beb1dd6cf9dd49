-- report_totals: the totals line of a daily report: the campaigns of report_day together.
-- One row. Parameters: report_day (DATE), tz, days, daily, listed (as report_campaigns).
--
-- Sums over the campaigns in_totals (report_campaigns): those with a snapshot on report_day and
-- the final ones (finished or canceled: their final numbers stand; final_campaigns counts those
-- without a snapshot on the day). Stale and unknown campaigns without a snapshot on the day are
-- left out and counted in stale_campaigns. Rates are recomputed from the sums (never averaged),
-- NULL on a zero denominator. previous_* are the same campaigns' previous end-of-day values (a
-- campaign new on report_day counts as 0 there; a final one as its final numbers), so
-- *_change = total - previous total.
-- depends: report/report_campaigns.sql, views/defaults.sql
CREATE OR REPLACE MACRO report_totals(report_day, tz := NULL, days := 30, daily := NULL, listed := NULL) AS TABLE
WITH r AS (
    SELECT * FROM report_campaigns(report_day, tz := tz, days := days, daily := daily, listed := listed)
),
t AS (
    SELECT
        count(*) FILTER (WHERE in_totals) AS campaigns,
        count(*) FILTER (WHERE in_totals AND NOT fresh) AS final_campaigns,
        count(*) FILTER (WHERE NOT in_totals) AS stale_campaigns,
        coalesce(sum(contacts) FILTER (WHERE in_totals), 0) AS contacts,
        coalesce(sum(contacts - coalesce(contacts_change, contacts)) FILTER (WHERE in_totals), 0)
            AS previous_contacts,
        coalesce(sum(reached_sent) FILTER (WHERE in_totals), 0) AS reached_sent,
        coalesce(sum(reached_sent - coalesce(reached_sent_change, reached_sent)) FILTER (WHERE in_totals), 0)
            AS previous_reached_sent,
        coalesce(sum(reached_delivered) FILTER (WHERE in_totals), 0) AS reached_delivered,
        coalesce(sum(reached_delivered - coalesce(reached_delivered_change, reached_delivered))
            FILTER (WHERE in_totals), 0) AS previous_reached_delivered,
        coalesce(sum(reached_read) FILTER (WHERE in_totals), 0) AS reached_read,
        coalesce(sum(reached_read - coalesce(reached_read_change, reached_read)) FILTER (WHERE in_totals), 0)
            AS previous_reached_read,
        coalesce(sum(failed) FILTER (WHERE in_totals), 0) AS failed
    FROM r
)
SELECT
    campaigns,
    final_campaigns,
    stale_campaigns,
    contacts,
    contacts - previous_contacts AS contacts_change,
    reached_sent,
    reached_sent - previous_reached_sent AS reached_sent_change,
    reached_delivered,
    reached_delivered - previous_reached_delivered AS reached_delivered_change,
    reached_read,
    reached_read - previous_reached_read AS reached_read_change,
    ratio(reached_sent, contacts) AS reached_sent_share,
    ratio(reached_delivered, contacts) AS reached_delivered_share,
    ratio(reached_read, contacts) AS reached_read_share,
    ratio(reached_delivered, reached_sent) AS delivery_rate,
    ratio(previous_reached_delivered, previous_reached_sent)
        AS previous_delivery_rate,
    ratio(reached_read, reached_delivered) AS read_rate,
    ratio(previous_reached_read, previous_reached_delivered)
        AS previous_read_rate,
    ratio(reached_read, reached_sent) AS read_of_sent,
    ratio(previous_reached_read, previous_reached_sent)
        AS previous_read_of_sent,
    delivery_rate - previous_delivery_rate AS delivery_rate_change,
    read_rate - previous_read_rate AS read_rate_change,
    read_of_sent - previous_read_of_sent AS read_of_sent_change,
    failed,
    ratio(failed, contacts) AS failed_share
FROM t;

COMMENT ON MACRO TABLE report_totals IS 'report_totals(report_day, tz, days := 30, daily := NULL, listed := NULL): one row, the campaigns of report_day (with a snapshot on the day, or final) together, with rates from the sums and changes from the same campaigns'' previous day.';
