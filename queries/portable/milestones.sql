-- milestones: when each contact first reached each funnel stage, up to the range's last day.
-- One row = one contact of one campaign. Grain: campaign_id, contact_id. Input: contact_steps.
-- As the warehouse's table milestones (view contact_milestones; what `build --from-spark` loads).
--
-- A stage is reached by being in any state whose catalog funnel_rank is at least the stage's:
-- delivery failed and the legacy state (mapped to sent) reach Sent; read reaches Delivered even
-- without a delivered snapshot. Not cut at day_from.
SELECT
    campaign_id,
    contact_id,
    min(snapshot_time) AS first_seen,
    min(snapshot_time) FILTER (WHERE funnel_rank >= 1) AS first_sent_at,
    min(snapshot_time) FILTER (WHERE funnel_rank >= 2) AS first_delivered_at,
    min(snapshot_time) FILTER (WHERE funnel_rank >= 3) AS first_read_at
FROM contact_steps
GROUP BY campaign_id, contact_id
