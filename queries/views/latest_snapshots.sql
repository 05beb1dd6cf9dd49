-- latest_snapshots: each campaign's latest complete snapshot at or before a time.
-- One row = one campaign. Grain: campaign_id.
-- Parameters: as_of (TIMESTAMPTZ or ISO text; default latest_data_time()).
-- A campaign whose first complete snapshot is later than as_of has no row.
-- depends: views/defaults.sql
CREATE OR REPLACE MACRO latest_snapshots(as_of := NULL) AS TABLE
SELECT
    campaign_id,
    arg_max(snapshot_id, snapshot_time) AS snapshot_id,
    max(snapshot_time) AS snapshot_time,
    arg_max(contacts, snapshot_time) AS contacts
FROM snapshot_log
WHERE complete
    AND snapshot_time <= coalesce(CAST(as_of AS TIMESTAMPTZ), latest_data_time())
GROUP BY campaign_id;

COMMENT ON MACRO TABLE latest_snapshots IS 'latest_snapshots(as_of := latest): each campaign''s latest complete snapshot at or before as_of.';
