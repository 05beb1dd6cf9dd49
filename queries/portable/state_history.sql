-- state_history: the compact state history, up to the range's last day.
-- One row = one contact of one campaign in one state (state, raw state and legacy flag
-- unchanged) over [valid_from, valid_to). Grain: campaign_id, contact_id, valid_from.
-- Input: contact_steps. As the warehouse's view state_history (tables history_closed, valid_to
-- set, and history_open, valid_to NULL: what `build --from-spark` loads).
--
-- valid_from: the first snapshot that showed the contact so; valid_to: the first later snapshot
-- of the campaign that showed it otherwise or did not list it at all; NULL while it is still so
-- in the campaign's last snapshot up to day_to. Not cut at day_from: the whole history up to
-- day_to.
SELECT
    campaign_id,
    contact_id,
    state,
    raw_state,
    legacy,
    interval_start AS valid_from,
    next_time AS valid_to
FROM contact_steps
WHERE interval_ends
