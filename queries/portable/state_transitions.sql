-- state_transitions: contacts moving from one state to another between consecutive snapshots.
-- One row = one campaign, local day in [day_from, day_to], from_state and to_state. Grain:
-- campaign_id, day, from_state, to_state. Inputs: contact_steps, params. As the warehouse's
-- table daily_moves (view state_transitions; what `build --from-spark` loads).
--
-- A move is counted on the local day of the first snapshot that shows the new state, when the
-- campaign's previous snapshot showed the contact in another state. A contact's first appearance
-- is not a move, nor is one that vanished and came back, nor a change of raw text only.
-- median_minutes_in_from_state: median time from the first snapshot of the run in from_state to
-- the first in to_state (whole seconds, / 60; resolution: the snapshot interval).
SELECT
    k.campaign_id,
    k.day,
    k.last_state AS from_state,
    k.state AS to_state,
    count(*) AS contacts,
    median(k.moved_after_seconds) / 60.0 AS median_minutes_in_from_state
FROM contact_steps AS k
CROSS JOIN params AS p
WHERE k.listed_before
    AND k.last_state <> k.state
    AND (p.day_from IS NULL OR k.day >= p.day_from)
GROUP BY k.campaign_id, k.day, k.last_state, k.state
