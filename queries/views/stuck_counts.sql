-- stuck_counts: how many contacts are stuck at each snapshot.
-- One row = one complete snapshot of one campaign (zeros included). Grain: snapshot_id.
-- Parameters (macro): threshold_minutes (default the configured stuck_after_minutes, 60).
--
-- The rule is stuck_at's (views/stuck_contacts.sql): In progress or Retry scheduled for strictly
-- longer than the threshold, in real elapsed time from the first snapshot of the contact's
-- current run in that state to this snapshot, to the second. The reports' stuck figures are
-- these counts at the report's snapshot. Cheap for every snapshot: only the runs of those states
-- longer than the threshold are joined with the snapshots.
-- The view stuck_counts (no parentheses) uses the configured threshold.
-- depends: views/stuck_contacts.sql, formulas/params.sql, views/defaults.sql
CREATE OR REPLACE MACRO stuck_counts(threshold_minutes := NULL) AS TABLE
WITH snaps AS (
    SELECT campaign_id, snapshot_id, snapshot_time FROM snapshot_log WHERE complete
),
p AS (
    SELECT coalesce(threshold_minutes, configured_stuck_minutes(), 60) AS threshold
),
stuck AS (
    SELECT campaign_id, snapshot_time, state
    FROM stuck_at('snaps', threshold_minutes := threshold_minutes)
)
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    local_day(s.snapshot_time, configured_timezone()) AS day,
    any_value(p.threshold) AS threshold_minutes,
    count(k.state) FILTER (WHERE k.state = 'in_progress') AS in_progress,
    count(k.state) FILTER (WHERE k.state = 'retry_scheduled') AS retry_scheduled,
    count(k.state) AS stuck
FROM snaps AS s
CROSS JOIN p
LEFT JOIN stuck AS k ON k.campaign_id = s.campaign_id AND k.snapshot_time = s.snapshot_time
GROUP BY s.campaign_id, s.snapshot_id, s.snapshot_time;

COMMENT ON MACRO TABLE stuck_counts IS 'stuck_counts(threshold_minutes := configured): per complete snapshot, the contacts stuck in In progress / Retry scheduled (the rule of stuck_at).';

CREATE OR REPLACE VIEW stuck_counts AS SELECT * FROM stuck_counts();
COMMENT ON VIEW stuck_counts IS 'Per campaign and complete snapshot, the contacts stuck in In progress or Retry scheduled for strictly longer than the configured threshold (from the first snapshot of their current run in that state, to the second).';
COMMENT ON COLUMN stuck_counts.campaign_id IS 'The campaign.';
COMMENT ON COLUMN stuck_counts.snapshot_id IS 'The complete snapshot.';
COMMENT ON COLUMN stuck_counts.snapshot_time IS 'Its time (UTC instant); time in state is measured to it.';
COMMENT ON COLUMN stuck_counts.day IS 'Its local day in the configured time zone.';
COMMENT ON COLUMN stuck_counts.threshold_minutes IS 'The threshold: stuck means strictly longer than this.';
COMMENT ON COLUMN stuck_counts.in_progress IS 'Stuck contacts in In progress.';
COMMENT ON COLUMN stuck_counts.retry_scheduled IS 'Stuck contacts in Retry scheduled.';
COMMENT ON COLUMN stuck_counts.stuck IS 'in_progress + retry_scheduled.';
