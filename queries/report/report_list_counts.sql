-- report_list_counts: how many contacts each drill-down list of a daily report holds.
-- One row = one list of one listed campaign, or (campaign_id NULL) one list over every fresh
-- campaign together: the totals line. Grain: campaign_id, list.
-- Parameters: report_day (DATE), tz, days, daily, stuck_minutes, listed (as report_contacts).
-- Lists: failed, delivered_not_read, stuck (see report_contacts). A list with no contact has no
-- row: read a missing row as 0.
-- depends: report/report_contacts.sql, report/report_campaigns.sql
CREATE OR REPLACE MACRO report_list_counts(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL, listed := NULL) AS TABLE
WITH c AS (
    SELECT k.campaign_id, k.list, r.fresh
    FROM report_contact_lists(
        report_day, tz := tz, days := days, daily := daily, stuck_minutes := stuck_minutes,
        listed := listed
    ) AS k
    JOIN report_campaigns(
        report_day, tz := tz, days := days, daily := daily, listed := listed
    ) AS r USING (campaign_id)
)
SELECT campaign_id, list, count(*) AS contacts FROM c GROUP BY ALL
UNION ALL
SELECT NULL AS campaign_id, list, count(*) AS contacts FROM c WHERE fresh GROUP BY ALL;

COMMENT ON MACRO TABLE report_list_counts IS 'report_list_counts(report_day, tz, days := 30, daily := NULL, stuck_minutes, listed := NULL): contacts per drill-down list (failed, delivered_not_read, stuck) per listed campaign, and over all fresh campaigns (campaign_id NULL).';
