-- campaign_daily: each campaign's end-of-day state counts and funnel, and the change from the
-- day before. One row = one campaign on one local day on which it has a complete snapshot.
-- Grain: campaign_id, day. Parameters: tz (IANA time zone; default the configured one).
--
-- The day D row uses the campaign's last complete snapshot of D (a day in tz: midnight to
-- midnight local time, 23 or 25 hours across a DST change) and history up to that snapshot.
-- State columns (initial .. other) are exclusive counts that sum to contacts; reached_* are the
-- funnel EVER (furthest stage reached up to the snapshot) and now_reached_* the funnel NOW (the
-- state counts rolled up by the catalog's funnel_rank: now_reached_sent = sent + delivered + read
-- + delivery_failed, now_reached_delivered = delivered + read, now_reached_read = read; see
-- funnel.sql); rates are NULL on a zero denominator. *_change = this day's value minus the previous row's, i.e. the state at the end
-- of the day before (previous_day says which day that was; NULL on the campaign's first day).
-- The view campaign_daily (no parentheses) uses the configured time zone. The build stores the
-- counts of that zone's days in the table daily_state (over the days it redoes); another zone's
-- are read on each call from the counts the build keeps per snapshot (day_ends, then day_rows,
-- in formulas/daily.sql: a day's counts are its last snapshot's).
-- campaign_name (last column) is the name from the table campaigns, NULL when unknown.
-- depends: formulas/daily.sql, views/defaults.sql
CREATE OR REPLACE MACRO campaign_daily(tz := NULL) AS TABLE
WITH ends AS (
    SELECT * FROM day_ends(tz := tz)
),
counts AS (
    -- in the configured time zone the build has stored them; in another, compute them
    SELECT * FROM daily_state WHERE stored_zone(tz)
    UNION ALL BY NAME
    SELECT * FROM day_rows('ends') WHERE NOT stored_zone(tz)
)
SELECT
    campaign_id,
    counts.day,
    snapshot_id,
    snapshot_time,
    contacts,
    initial,
    in_progress,
    retry_scheduled,
    sent,
    delivered,
    read,
    delivery_failed,
    sending_failed,
    error,
    invalid_record,
    removed,
    canceled_by_admin,
    other,
    reached_sent,
    reached_delivered,
    reached_read,
    ratio(reached_delivered, reached_sent) AS delivery_rate,
    ratio(reached_read, reached_delivered) AS read_rate,
    ratio(reached_read, reached_sent) AS read_of_sent,
    sent + delivered + read + delivery_failed AS now_reached_sent,
    delivered + read AS now_reached_delivered,
    read AS now_reached_read,
    ratio(delivered + read, sent + delivered + read + delivery_failed) AS now_delivery_rate,
    ratio(read, delivered + read) AS now_read_rate,
    ratio(read, sent + delivered + read + delivery_failed) AS now_read_of_sent,
    sending_failed + error + delivery_failed AS failed,
    initial + in_progress + retry_scheduled AS pending,
    invalid_record + removed + canceled_by_admin AS excluded,
    legacy_mapped,
    lag(counts.day) OVER w AS previous_day,
    contacts - lag(contacts) OVER w AS contacts_change,
    initial - lag(initial) OVER w AS initial_change,
    in_progress - lag(in_progress) OVER w AS in_progress_change,
    retry_scheduled - lag(retry_scheduled) OVER w AS retry_scheduled_change,
    sent - lag(sent) OVER w AS sent_change,
    delivered - lag(delivered) OVER w AS delivered_change,
    read - lag(read) OVER w AS read_change,
    delivery_failed - lag(delivery_failed) OVER w AS delivery_failed_change,
    sending_failed - lag(sending_failed) OVER w AS sending_failed_change,
    error - lag(error) OVER w AS error_change,
    invalid_record - lag(invalid_record) OVER w AS invalid_record_change,
    removed - lag(removed) OVER w AS removed_change,
    canceled_by_admin - lag(canceled_by_admin) OVER w AS canceled_by_admin_change,
    other - lag(other) OVER w AS other_change,
    reached_sent - lag(reached_sent) OVER w AS reached_sent_change,
    reached_delivered - lag(reached_delivered) OVER w AS reached_delivered_change,
    reached_read - lag(reached_read) OVER w AS reached_read_change,
    (SELECT any_value(n.name) FROM campaigns AS n WHERE n.campaign_id = counts.campaign_id)
        AS campaign_name
FROM counts
WINDOW w AS (PARTITION BY campaign_id ORDER BY counts.day);

COMMENT ON MACRO TABLE campaign_daily IS 'campaign_daily(tz := configured): per campaign and local day, the end-of-day state counts and funnel (last complete snapshot of the day) and the change from the day before.';

CREATE OR REPLACE VIEW campaign_daily AS SELECT * FROM campaign_daily();
COMMENT ON VIEW campaign_daily IS 'Per campaign and day (configured time zone): end-of-day state counts, funnel, and *_change from the day before. Another zone: SELECT * FROM campaign_daily(''UTC'').';
COMMENT ON COLUMN campaign_daily.campaign_id IS 'The campaign.';
COMMENT ON COLUMN campaign_daily.day IS 'Calendar day in the time zone.';
COMMENT ON COLUMN campaign_daily.snapshot_id IS 'The campaign''s last complete snapshot of the day.';
COMMENT ON COLUMN campaign_daily.snapshot_time IS 'Its time (UTC instant).';
COMMENT ON COLUMN campaign_daily.contacts IS 'Contacts in that snapshot; the 13 state columns sum to it.';
COMMENT ON COLUMN campaign_daily.reached_sent IS 'Funnel ever: contacts that reached Sent up to then (furthest stage).';
COMMENT ON COLUMN campaign_daily.reached_delivered IS 'Contacts that reached Delivered up to then.';
COMMENT ON COLUMN campaign_daily.reached_read IS 'Contacts that reached Read up to then.';
COMMENT ON COLUMN campaign_daily.delivery_rate IS 'reached_delivered / reached_sent; NULL if 0 sent.';
COMMENT ON COLUMN campaign_daily.read_rate IS 'reached_read / reached_delivered; NULL if 0 delivered.';
COMMENT ON COLUMN campaign_daily.read_of_sent IS 'reached_read / reached_sent; NULL if 0 sent.';
COMMENT ON COLUMN campaign_daily.now_reached_sent IS 'Funnel now: contacts whose state at the snapshot is sent, delivered, read or delivery failed.';
COMMENT ON COLUMN campaign_daily.now_reached_delivered IS 'Funnel now: contacts in delivered or read at the snapshot.';
COMMENT ON COLUMN campaign_daily.now_reached_read IS 'Funnel now: contacts in read at the snapshot.';
COMMENT ON COLUMN campaign_daily.now_delivery_rate IS 'now_reached_delivered / now_reached_sent; NULL if 0.';
COMMENT ON COLUMN campaign_daily.now_read_rate IS 'now_reached_read / now_reached_delivered; NULL if 0.';
COMMENT ON COLUMN campaign_daily.now_read_of_sent IS 'now_reached_read / now_reached_sent; NULL if 0.';
COMMENT ON COLUMN campaign_daily.failed IS 'sending_failed + error + delivery_failed.';
COMMENT ON COLUMN campaign_daily.pending IS 'initial + in_progress + retry_scheduled.';
COMMENT ON COLUMN campaign_daily.excluded IS 'invalid_record + removed + canceled_by_admin.';
COMMENT ON COLUMN campaign_daily.legacy_mapped IS 'Contacts in the legacy Successfully Submitted state (mapped).';
COMMENT ON COLUMN campaign_daily.previous_day IS 'The day the *_change columns compare with (the campaign''s previous day with data).';
COMMENT ON COLUMN campaign_daily.contacts_change IS 'contacts minus the previous day''s.';
COMMENT ON COLUMN campaign_daily.campaign_name IS 'The campaign''s name from the table campaigns (the API''s campaign list); NULL when unknown.';
