-- contact_milestones: when each contact first reached each funnel stage.
-- One row = one contact of one campaign. Grain: campaign_id, contact_id. Parameters: none.
--
-- A stage is reached by being in any state whose catalog funnel_rank is at least the stage's:
-- Delivery failed and the legacy state (mapped to sent) reach Sent; Read reaches Delivered even
-- without a Delivered snapshot. "Furthest stage as of t" = the highest stage first reached at or
-- before t, so it never decreases as snapshots are added.
--
-- The view reads the table milestones, which the build keeps equal to
-- milestones_of('state_history') (the formula, in formulas/milestones.sql).
CREATE OR REPLACE VIEW contact_milestones AS
SELECT campaign_id, contact_id, first_seen, first_sent_at, first_delivered_at, first_read_at
FROM milestones;

COMMENT ON VIEW contact_milestones IS 'When each contact was first seen and first reached Sent, Delivered and Read (NULL: not yet). One row per campaign and contact.';
COMMENT ON COLUMN contact_milestones.campaign_id IS 'The campaign.';
COMMENT ON COLUMN contact_milestones.contact_id IS 'The contact.';
COMMENT ON COLUMN contact_milestones.first_seen IS 'Time of the first snapshot that listed the contact.';
COMMENT ON COLUMN contact_milestones.first_sent_at IS 'First snapshot in a state that reached Sent (sent, delivered, read, delivery failed, legacy).';
COMMENT ON COLUMN contact_milestones.first_delivered_at IS 'First snapshot in a state that reached Delivered (delivered, read).';
COMMENT ON COLUMN contact_milestones.first_read_at IS 'First snapshot in state read.';
