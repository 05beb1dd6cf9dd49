-- stuck_counts: contacts stuck in In progress or Retry scheduled, per snapshot.
-- One row = one complete snapshot of a local day in [day_from, day_to] (zeros included).
-- Grain: snapshot_id. Inputs: snapshot_counts, params.
--
-- Stuck = in In progress or Retry scheduled for strictly longer than threshold_minutes
-- (params.stuck_minutes), in real elapsed time from the first snapshot of the contact's current
-- run in that state to this snapshot: the warehouse's stuck_contacts(as_of := snapshot_time,
-- threshold_minutes := threshold_minutes), counted.
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    s.day,
    p.stuck_minutes AS threshold_minutes,
    s.stuck_in_progress AS in_progress,
    s.stuck_retry_scheduled AS retry_scheduled,
    s.stuck_in_progress + s.stuck_retry_scheduled AS stuck
FROM snapshot_counts AS s
CROSS JOIN params AS p
