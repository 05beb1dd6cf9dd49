-- state_counts: how many contacts each snapshot had in each state.
-- One row = one state in one complete snapshot. Grain: snapshot_id, state (13 rows per snapshot:
-- the 12 states and other, zero included). Parameters: none (filter by campaign_id / time).
--
-- State counts are exclusive: per snapshot, sum(contacts) = campaign_contacts, the number of
-- contacts the snapshot listed. An empty snapshot has 13 rows of 0.
-- campaign_name (last column): the name from the table campaigns, NULL when unknown.
-- depends: formulas/state_history.sql
CREATE OR REPLACE VIEW state_counts AS
WITH counts AS (
    SELECT s.snapshot_id, h.state, count(*) AS n
    FROM snapshot_log AS s
    JOIN state_history AS h
        ON h.campaign_id = s.campaign_id
        AND h.valid_from <= s.snapshot_time
        AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > s.snapshot_time
    WHERE s.complete
    GROUP BY s.snapshot_id, h.state
)
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    c.state,
    c.label,
    c.category,
    c.sort_order,
    coalesce(k.n, 0) AS contacts,
    sum(coalesce(k.n, 0)) OVER (PARTITION BY s.snapshot_id) AS campaign_contacts,
    (SELECT any_value(n.name) FROM campaigns AS n WHERE n.campaign_id = s.campaign_id)
        AS campaign_name
FROM snapshot_log AS s
CROSS JOIN catalog AS c
LEFT JOIN counts AS k ON k.snapshot_id = s.snapshot_id AND k.state = c.state
WHERE s.complete;

COMMENT ON VIEW state_counts IS 'Contacts per state in each complete snapshot: 13 rows per snapshot (12 states and other, zeros included); contacts sum to campaign_contacts.';
COMMENT ON COLUMN state_counts.campaign_id IS 'The campaign.';
COMMENT ON COLUMN state_counts.snapshot_id IS 'The snapshot.';
COMMENT ON COLUMN state_counts.snapshot_time IS 'Its time (UTC instant).';
COMMENT ON COLUMN state_counts.state IS 'State code.';
COMMENT ON COLUMN state_counts.label IS 'The state''s UI label.';
COMMENT ON COLUMN state_counts.category IS 'pending, in_funnel, failed, excluded or other.';
COMMENT ON COLUMN state_counts.sort_order IS 'Order in which reports list the states.';
COMMENT ON COLUMN state_counts.contacts IS 'Contacts in this state in this snapshot.';
COMMENT ON COLUMN state_counts.campaign_contacts IS 'All contacts in this snapshot (the sum over its 13 rows).';
COMMENT ON COLUMN state_counts.campaign_name IS 'The campaign''s name from the table campaigns (the API''s campaign list); NULL when unknown.';
