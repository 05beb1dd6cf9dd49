-- state_transitions: contacts moving from one state to another between consecutive snapshots.
-- One row = one campaign, local day, from_state, to_state. Grain: campaign_id, day, from_state,
-- to_state. Parameters: tz (IANA time zone; default the configured one).
--
-- A move is counted on the day of the first snapshot that shows the new state, when the snapshot
-- before it (of the same campaign) showed the contact in the old state. Changes of raw text only
-- are not moves; a contact that vanished and came back is not a move (see data_quality).
-- median_minutes_in_from_state: median time from the first snapshot that showed the old state to
-- the first that showed the new one (resolution: the snapshot interval).
-- The view state_transitions (no parentheses) uses the configured time zone. The build stores
-- that zone's rows in the table daily_moves (transitions_of for the days it redoes); another
-- zone's are computed from the history on each call (transitions_of, the formula in
-- formulas/transitions.sql).
-- depends: formulas/transitions.sql, views/defaults.sql
CREATE OR REPLACE MACRO state_transitions(tz := NULL) AS TABLE
-- in the configured time zone the build has stored them; in another, compute them
SELECT * FROM daily_moves WHERE stored_zone(tz)
UNION ALL BY NAME
SELECT *
FROM transitions_of(tz := tz, enabled := NOT stored_zone(tz));

COMMENT ON MACRO TABLE state_transitions IS 'state_transitions(tz := configured): per campaign and local day, contacts that moved from_state -> to_state between consecutive snapshots, with the median minutes spent in from_state.';

CREATE OR REPLACE VIEW state_transitions AS SELECT * FROM state_transitions();
COMMENT ON VIEW state_transitions IS 'Contacts moving from one state to another between consecutive snapshots, per campaign and day (configured time zone), with the median minutes in the old state.';
COMMENT ON COLUMN state_transitions.campaign_id IS 'The campaign.';
COMMENT ON COLUMN state_transitions.day IS 'Local day of the first snapshot that showed the new state.';
COMMENT ON COLUMN state_transitions.from_state IS 'State code before the move.';
COMMENT ON COLUMN state_transitions.to_state IS 'State code after the move.';
COMMENT ON COLUMN state_transitions.contacts IS 'Contacts that made this move on this day.';
COMMENT ON COLUMN state_transitions.median_minutes_in_from_state IS 'Median minutes from the first snapshot in from_state to the first in to_state.';
