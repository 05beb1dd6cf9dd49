-- daily_step: redo the daily_state and daily_moves rows of the campaign days in daily_dirty
-- (marked by history_step.sql for each snapshot it applied) of the campaigns listed in the
-- variable daily_campaigns, then clear them from daily_dirty. One build step; the build runs it
-- after the history steps, once per group of campaigns (memory stays bounded), each run one
-- transaction (a build stopped before the end leaves the rest in daily_dirty for the next one).
-- One row of daily_state = one campaign on one local day; one row of daily_moves = one
-- campaign, local day and move (see tables/schema.sql).
--
-- The day's counts are its last snapshot's, kept by the history steps (day_rows reads
-- snapshot_states and snapshot_reached). For the moves only the recent history is read: a move
-- on a dirty day is made by a contact with an interval starting on or after the earliest dirty
-- day's start (transitions_of's since). Parameters: none (days are days in the configured time
-- zone).
CREATE OR REPLACE TEMP TABLE dirty_days AS
SELECT DISTINCT campaign_id, day
FROM daily_dirty
WHERE list_contains(getvariable('daily_campaigns'), campaign_id);

CREATE OR REPLACE TEMP TABLE dirty_ends AS
SELECT e.*
FROM day_ends() AS e
WHERE (e.campaign_id, e.day) IN (SELECT campaign_id, day FROM dirty_days);

SET VARIABLE daily_since = (SELECT min(day_start(day, configured_timezone())) FROM dirty_days);

DELETE FROM daily_state
WHERE (campaign_id, day) IN (SELECT campaign_id, day FROM dirty_days);

INSERT INTO daily_state BY NAME
SELECT * FROM day_rows('dirty_ends')
ORDER BY campaign_id, day;

DELETE FROM daily_moves
WHERE (campaign_id, day) IN (SELECT campaign_id, day FROM dirty_days);

INSERT INTO daily_moves BY NAME
SELECT *
FROM transitions_of(
    since := getvariable('daily_since'), campaigns := getvariable('daily_campaigns')
)
WHERE (campaign_id, day) IN (SELECT campaign_id, day FROM dirty_days)
ORDER BY campaign_id, day, from_state, to_state;

DELETE FROM daily_dirty
WHERE (campaign_id, day) IN (SELECT campaign_id, day FROM dirty_days);
