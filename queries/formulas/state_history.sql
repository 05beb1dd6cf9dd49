-- state_history: the compact state history. One row = one contact of one campaign in one state
-- over a time interval [valid_from, valid_to). History is kept on states, not on raw text: a
-- change of raw text inside one state (letter case, spaces, CALLING / CALL_IN_PROGRESS, WA_SENT /
-- legacy SUCCESS) neither ends an interval nor starts one; raw_state and legacy are those of the
-- interval's first snapshot (the store keeps every snapshot's raw text). Except in other: two
-- values the catalog does not know (case and spaces folded) are two intervals, since nothing says
-- they are one state; so the unknown values' findings count each value's rows and contacts.
-- Grain: campaign_id, contact_id, valid_from. Parameters: none.
--
-- valid_from is the time of the first snapshot that showed the contact so; valid_to is the time
-- of the first later snapshot that showed it in another state or did not list it at all (NULL: it is
-- still so in the campaign's latest snapshot). Only complete snapshots are in it. The contact's
-- state at snapshot time t is the row with valid_from <= t < coalesce(valid_to, infinity).
-- It is a formula (not only a view for analysts): transitions_of (formulas/transitions.sql)
-- reads it, so what it gives decides the stored table daily_moves.
CREATE OR REPLACE VIEW state_history AS
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM history_closed
UNION ALL
SELECT campaign_id, contact_id, state, raw_state, legacy, valid_from, valid_to
FROM history_open;

COMMENT ON VIEW state_history IS 'Compact state history: one row per contact per state change, valid over [valid_from, valid_to). valid_to NULL = still so in the latest snapshot.';
COMMENT ON COLUMN state_history.campaign_id IS 'The campaign.';
COMMENT ON COLUMN state_history.contact_id IS 'The contact (mluvii identity id).';
COMMENT ON COLUMN state_history.state IS 'State code (see catalog), other for values the catalog does not know.';
COMMENT ON COLUMN state_history.raw_state IS 'The state text exactly as the source sent it, in the interval''s first snapshot (a change of raw text inside a state does not start an interval).';
COMMENT ON COLUMN state_history.legacy IS 'True if the interval''s first snapshot said the legacy Successfully Submitted (mapped to state).';
COMMENT ON COLUMN state_history.valid_from IS 'Time of the first snapshot that showed the contact in this state.';
COMMENT ON COLUMN state_history.valid_to IS 'Time of the first later snapshot that showed it in another state or not at all; NULL = still in this state.';
