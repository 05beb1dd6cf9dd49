-- report_contacts: the contact ids behind a daily report's drill-down files.
-- One row = one contact in one list of one listed campaign. Grain: campaign_id, list, contact_id.
-- Parameters: report_day (DATE), tz, days, daily (as report_campaigns), stuck_minutes (default the
-- configured stuck_after_minutes), listed (as report_campaigns).
--
-- Lists, for the contacts of the campaign's snapshot in report_campaigns:
--   failed              in Sending failed, Error or Delivery failed; reason = the state's label
--   delivered_not_read  in Delivered (it reached the phone, not displayed yet)
--   stuck               stuck at the snapshot by the one stuck rule, stuck_at (views/
--                       stuck_contacts.sql): In progress or Retry scheduled for strictly longer
--                       than stuck_minutes since the first snapshot of the current run in that
--                       state, to the second (the counts equal the view stuck_counts)
-- state_since = time of the first snapshot that showed the contact in its state (a change of raw
-- text inside a state does not restart it); seconds = whole seconds from then to the snapshot;
-- minutes = seconds // 60, for display. Ids only: never a phone number or its hash.
--
-- Rows are ordered by campaign_id, list, seconds (longest first), contact_id.
-- report_contact_lists (same parameters) gives the same rows unordered, for callers that only
-- count them.
--
-- Usually the listed snapshot is the campaign's newest complete one; its contacts are then exactly
-- the campaign's rows of history_open (every closed interval ends at or before that snapshot), so
-- only that table is read. A report of an older day reads the whole state_history.
-- depends: report/report_campaigns.sql, views/intervals_at.sql, views/stuck_contacts.sql
-- depends: views/defaults.sql, formulas/params.sql
CREATE OR REPLACE MACRO report_contact_lists(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL, listed := NULL) AS TABLE
WITH listed AS (
    SELECT campaign_id, snapshot_time
    FROM report_campaigns(report_day, tz := tz, days := days, daily := daily, listed := listed)
),
members AS (
    -- failed and delivered-not-read: each listed campaign's contacts at its snapshot
    SELECT
        campaign_id,
        CASE WHEN state = 'delivered' THEN 'delivered_not_read' ELSE 'failed' END AS list,
        contact_id,
        state,
        valid_from AS state_since,
        seconds_between(valid_from, snapshot_time) AS seconds
    FROM intervals_at('listed')
    WHERE state IN ('sending_failed', 'error', 'delivery_failed', 'delivered')
    UNION ALL
    SELECT
        campaign_id,
        'stuck' AS list,
        contact_id,
        state,
        in_state_since AS state_since,
        seconds_in_state AS seconds
    FROM stuck_at('listed', threshold_minutes := stuck_minutes)
)
SELECT
    m.campaign_id,
    m.list,
    m.contact_id,
    m.state,
    c.label,
    m.state_since,
    m.seconds // 60 AS minutes,
    m.seconds
FROM members AS m
JOIN catalog AS c ON c.state = m.state;

COMMENT ON MACRO TABLE report_contact_lists IS 'report_contact_lists(report_day, tz, days := 30, daily := NULL, stuck_minutes, listed := NULL): the rows of report_contacts, unordered (for counting them).';

CREATE OR REPLACE MACRO report_contacts(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL, listed := NULL) AS TABLE
SELECT *
FROM report_contact_lists(
    report_day, tz := tz, days := days, daily := daily, stuck_minutes := stuck_minutes,
    listed := listed
)
ORDER BY campaign_id, list, seconds DESC, contact_id;

COMMENT ON MACRO TABLE report_contacts IS 'report_contacts(report_day, tz, days := 30, daily := NULL, stuck_minutes, listed := NULL): contact ids of the drill-down lists (failed, delivered_not_read, stuck) of each listed campaign.';
