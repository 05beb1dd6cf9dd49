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
CREATE OR REPLACE MACRO report_contacts(report_day, tz := NULL, days := 30, daily := NULL, stuck_minutes := NULL) AS TABLE
WITH listed AS (
    SELECT campaign_id, snapshot_id, snapshot_time
    FROM report_campaigns(report_day, tz := tz, days := days, daily := daily)
),
members AS (
    SELECT
        l.campaign_id,
        l.snapshot_time,
        h.contact_id,
        h.state,
        h.valid_from AS state_since,
        CAST(floor(epoch(l.snapshot_time - h.valid_from) / 60) AS BIGINT) AS minutes
    FROM listed AS l
    JOIN state_history AS h
        ON h.campaign_id = l.campaign_id
        AND h.valid_from <= l.snapshot_time
        AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > l.snapshot_time
    WHERE h.state IN ('sending_failed', 'error', 'delivery_failed', 'delivered', 'in_progress',
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
    OR m.minutes > coalesce(stuck_minutes, configured_stuck_minutes())
ORDER BY m.campaign_id, list, m.minutes DESC, m.contact_id;

COMMENT ON MACRO TABLE report_contacts IS 'report_contacts(report_day, tz, days := 30, stuck_minutes): contact ids of the drill-down lists (failed, delivered_not_read, stuck) of each listed campaign.';
