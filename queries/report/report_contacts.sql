-- report_contacts: the contact ids behind a daily report's drill-down files.
-- One row = one contact in one list of one listed campaign. Grain: campaign_id, list, contact_id.
-- Parameters: report_day (DATE), tz, days, daily (as report_campaigns), stuck_minutes (default the
-- configured stuck_after_minutes).
--
-- Lists, for the contacts of the campaign's snapshot in report_campaigns:
--   failed              in Sending failed, Error or Delivery failed; reason = the state's label
--   delivered_not_read  in Delivered (it reached the phone, not displayed yet)
--   stuck               in In progress or Retry scheduled for more than stuck_minutes at the
--                       snapshot (the vendor says these states pass quickly)
-- state_since = time of the first snapshot that showed the contact in its state; minutes = whole
-- minutes from then to the snapshot. Ids only: never a phone number or its hash.
--
-- Rows are ordered by campaign_id, list, minutes (longest first), contact_id. report_contact_lists
-- (same parameters) gives the same rows unordered, for callers that only count them.
--
-- Usually the listed snapshot is the campaign's newest complete one; its contacts are then exactly
-- the campaign's rows of history_open (every closed interval ends at or before that snapshot), so
-- only that table is read. A report of an older day reads the whole state_history.
-- depends: report/report_campaigns.sql, views/intervals_at.sql, views/defaults.sql
CREATE OR REPLACE MACRO report_contact_lists(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL) AS TABLE
WITH listed AS (
    SELECT campaign_id, snapshot_time
    FROM report_campaigns(report_day, tz := tz, days := days, daily := daily)
),
valid AS (
    -- each listed campaign's contacts at its snapshot (history_open at the newest one)
    SELECT campaign_id, snapshot_time, contact_id, state, valid_from
    FROM intervals_at('listed')
),
members AS (
    SELECT
        campaign_id,
        snapshot_time,
        contact_id,
        state,
        valid_from AS state_since,
        -- whole minutes elapsed, from the instants' microseconds: cheap, and the same in every
        -- session TimeZone (a difference of two TIMESTAMPTZ is a calendar interval in that zone)
        (epoch_us(snapshot_time) - epoch_us(valid_from)) // 60000000 AS minutes
    FROM valid
    WHERE state IN ('sending_failed', 'error', 'delivery_failed', 'delivered', 'in_progress',
                    'retry_scheduled')
)
SELECT
    m.campaign_id,
    CASE
        WHEN m.state IN ('sending_failed', 'error', 'delivery_failed') THEN 'failed'
        WHEN m.state = 'delivered' THEN 'delivered_not_read'
        ELSE 'stuck'
    END AS list,
    m.contact_id,
    m.state,
    c.label,
    m.state_since,
    m.minutes
FROM members AS m
JOIN catalog AS c ON c.state = m.state
WHERE m.state NOT IN ('in_progress', 'retry_scheduled')
    OR m.minutes > coalesce(stuck_minutes, configured_stuck_minutes());

COMMENT ON MACRO TABLE report_contact_lists IS 'report_contact_lists(report_day, tz, days := 30, stuck_minutes): the rows of report_contacts, unordered (for counting them).';

CREATE OR REPLACE MACRO report_contacts(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL) AS TABLE
SELECT *
FROM report_contact_lists(report_day, tz := tz, days := days, daily := daily, stuck_minutes := stuck_minutes)
ORDER BY campaign_id, list, minutes DESC, contact_id;

COMMENT ON MACRO TABLE report_contacts IS 'report_contacts(report_day, tz, days := 30, stuck_minutes): contact ids of the drill-down lists (failed, delivered_not_read, stuck) of each listed campaign.';
