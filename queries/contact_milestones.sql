-- contact_milestones: when each contact first reached each funnel stage.
-- One row = one contact of one campaign. Grain: campaign_id, contact_id. Parameters: none.
--
-- A stage is reached by being in any state whose catalog funnel_rank is at least the stage's:
-- Delivery failed and the legacy state (mapped to sent) reach Sent; Read reaches Delivered even
-- without a Delivered snapshot. "Furthest stage as of t" = the highest stage first reached at or
-- before t, so it never decreases as snapshots are added.
CREATE OR REPLACE VIEW contact_milestones AS
SELECT
    h.campaign_id,
    h.contact_id,
    min(h.valid_from) AS first_seen,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 1) AS first_sent_at,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 2) AS first_delivered_at,
    min(h.valid_from) FILTER (WHERE c.funnel_rank >= 3) AS first_read_at
FROM state_history AS h
JOIN catalog AS c ON c.state = h.state
GROUP BY h.campaign_id, h.contact_id;

COMMENT ON VIEW contact_milestones IS 'When each contact was first seen and first reached Sent, Delivered and Read (NULL: not yet). One row per campaign and contact.';
COMMENT ON COLUMN contact_milestones.campaign_id IS 'The campaign.';
COMMENT ON COLUMN contact_milestones.contact_id IS 'The contact.';
COMMENT ON COLUMN contact_milestones.first_seen IS 'Time of the first snapshot that listed the contact.';
COMMENT ON COLUMN contact_milestones.first_sent_at IS 'First snapshot in a state that reached Sent (sent, delivered, read, delivery failed, legacy).';
COMMENT ON COLUMN contact_milestones.first_delivered_at IS 'First snapshot in a state that reached Delivered (delivered, read).';
COMMENT ON COLUMN contact_milestones.first_read_at IS 'First snapshot in state read.';
