-- milestones: milestones_of(history), when each contact first reached each funnel stage.
-- One row = one contact of one campaign. Grain: campaign_id, contact_id.
-- Parameters: history (the name of a table or view of intervals, with the columns of
-- state_history).
--
-- A stage is reached by being in any state whose catalog funnel_rank is at least the stage's:
-- Delivery failed and the legacy state (mapped to sent) reach Sent; Read reaches Delivered even
-- without a Delivered snapshot. "Furthest stage as of t" = the highest stage first reached at or
-- before t, so it never decreases as snapshots are added.
--
-- The build keeps the table milestones equal to milestones_of('state_history'), merging in each
-- step's new intervals (a stage's first time only ever moves earlier, or from NULL to a time);
-- the view contact_milestones (views/contact_milestones.sql) reads that table.
CREATE OR REPLACE MACRO milestones_of(history) AS TABLE
SELECT
    h.campaign_id,
    h.contact_id,
    min(h.valid_from) AS first_seen,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 1) AS first_sent_at,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 2) AS first_delivered_at,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 3) AS first_read_at
FROM query_table(history) AS h
JOIN catalog AS c ON c.state = h.state
GROUP BY h.campaign_id, h.contact_id;

COMMENT ON MACRO TABLE milestones_of IS 'milestones_of(history): first seen and first Sent, Delivered, Read per contact over the intervals of the named table (contact_milestones = milestones_of(''state_history'')).';
