-- state_counts: how many contacts each snapshot had in each state.
-- One row = one state in one complete snapshot of a local day in [day_from, day_to]. Grain:
-- snapshot_id, state (13 rows per snapshot: the catalog's 12 states and other, zeros included).
-- Inputs: contact_steps, snapshot_counts, catalog, params. As the warehouse's view state_counts.
--
-- Exclusive: per snapshot, the contacts of its 13 rows sum to campaign_contacts.
WITH counts AS (
    SELECT k.snapshot_id, k.state, count(*) AS contacts
    FROM contact_steps AS k
    CROSS JOIN params AS p
    WHERE p.day_from IS NULL OR k.day >= p.day_from
    GROUP BY k.snapshot_id, k.state
)
SELECT
    s.campaign_id,
    s.snapshot_id,
    s.snapshot_time,
    s.day,
    c.state,
    coalesce(n.contacts, 0) AS contacts,
    s.contacts AS campaign_contacts
FROM snapshot_counts AS s
CROSS JOIN catalog AS c
LEFT JOIN counts AS n ON n.snapshot_id = s.snapshot_id AND n.state = c.state
