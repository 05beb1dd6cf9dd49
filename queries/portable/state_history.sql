-- state_history: the compact state history, up to the range's last day.
-- One row = one contact of one campaign in one state over [valid_from, valid_to): a change of
-- raw text or of the legacy flag inside a state is not a change; raw_state and legacy are those
-- of the interval's first snapshot. Grain: campaign_id, contact_id, valid_from.
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
    run_raw_state AS raw_state,
    run_legacy AS legacy,
    interval_start AS valid_from,
    next_time AS valid_to
FROM contact_steps
WHERE interval_ends
