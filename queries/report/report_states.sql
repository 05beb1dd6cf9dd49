-- report_states: the state counts a daily report shows for each listed campaign.
-- One row = one state (the 12 catalog states and other, zeros included) of one campaign.
-- Grain: campaign_id, state. Parameters: report_day (DATE), tz, days, daily, listed (as
-- report_campaigns).
--
-- contacts: contacts in the state in the campaign's snapshot of report_campaigns (exclusive: they
-- sum to its contacts); share = contacts / all contacts (NULL for an empty snapshot); change =
-- against the previous end-of-day snapshot (NULL: none). Catalog texts come along for the page.
-- depends: report/report_campaigns.sql, report/report_base.sql, views/defaults.sql
CREATE OR REPLACE MACRO report_states(report_day, tz := NULL, days := 30, daily := NULL, listed := NULL) AS TABLE
WITH listed AS (
    SELECT campaign_id, day FROM report_campaigns(
        report_day, tz := tz, days := days, daily := daily, listed := listed
    )
),
d AS (
    SELECT cd.*
    FROM report_base(tz := tz, daily := daily) AS cd
    JOIN listed USING (campaign_id, day)
),
counts AS (
    SELECT
        d.campaign_id,
        d.contacts AS all_contacts,
        c.*,
        CASE c.state
        WHEN 'initial' THEN d.initial
        WHEN 'in_progress' THEN d.in_progress
        WHEN 'retry_scheduled' THEN d.retry_scheduled
        WHEN 'sent' THEN d.sent
        WHEN 'delivered' THEN d.delivered
        WHEN 'read' THEN d.read
        WHEN 'delivery_failed' THEN d.delivery_failed
        WHEN 'sending_failed' THEN d.sending_failed
        WHEN 'error' THEN d.error
        WHEN 'invalid_record' THEN d.invalid_record
        WHEN 'removed' THEN d.removed
        WHEN 'canceled_by_admin' THEN d.canceled_by_admin
        WHEN 'other' THEN d.other
        END AS contacts,
        CASE c.state
        WHEN 'initial' THEN d.initial_change
        WHEN 'in_progress' THEN d.in_progress_change
        WHEN 'retry_scheduled' THEN d.retry_scheduled_change
        WHEN 'sent' THEN d.sent_change
        WHEN 'delivered' THEN d.delivered_change
        WHEN 'read' THEN d.read_change
        WHEN 'delivery_failed' THEN d.delivery_failed_change
        WHEN 'sending_failed' THEN d.sending_failed_change
        WHEN 'error' THEN d.error_change
        WHEN 'invalid_record' THEN d.invalid_record_change
        WHEN 'removed' THEN d.removed_change
        WHEN 'canceled_by_admin' THEN d.canceled_by_admin_change
        WHEN 'other' THEN d.other_change
        END AS change
    FROM d
    CROSS JOIN catalog AS c
)
SELECT
    campaign_id,
    state,
    label,
    category,
    description,
    notes,
    sort_order,
    contacts,
    ratio(contacts, all_contacts) AS share,
    change
FROM counts
ORDER BY campaign_id, sort_order;

COMMENT ON MACRO TABLE report_states IS 'report_states(report_day, tz, days := 30, daily := NULL, listed := NULL): per listed campaign, the 13 state counts with share, change from the previous day and the catalog texts.';
