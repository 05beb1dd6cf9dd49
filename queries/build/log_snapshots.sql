-- log_snapshots: record snapshots in snapshot_log. One row per snapshot.
-- Inputs: new_snapshots (the manifest's rows for snapshots not in snapshot_log) and
-- batch_snapshots (the complete snapshots this step applied). Logs the step's snapshots and
-- every incomplete new one (those are never read: they are kept out of every number).
INSERT INTO snapshot_log
SELECT
    n.snapshot_id,
    n.campaign_id,
    n.snapshot_time,
    n.source,
    n.path,
    n.rows,
    n.complete,
    CASE WHEN n.complete THEN n.rows END AS contacts,
    n.other_rows,
    n.legacy_rows,
    n.duplicate_rows
FROM new_snapshots AS n
WHERE (NOT n.complete OR n.snapshot_id IN (SELECT snapshot_id FROM batch_snapshots))
    AND n.snapshot_id NOT IN (SELECT snapshot_id FROM snapshot_log);
