-- funnel: the Sent -> Delivered -> Read funnel of each campaign as of a time.
-- One row = one campaign. Grain: campaign_id.
-- Parameters: as_of (TIMESTAMPTZ or ISO text; default latest_data_time()).
--
-- Contacts and the failure, pending and excluded counts use each contact's state in the
-- campaign's latest complete snapshot at or before as_of (contact_state). Two funnels, both
-- cumulative (a contact that has Read was also Sent and Delivered), never confused:
--   reached_* (the funnel EVER): by the furthest stage each contact ever reached up to then
--     reached_sent      = contacts that reached sent, delivered, read or delivery failed (a
--                         legacy Successfully Submitted counts as sent)
--     reached_delivered = contacts that reached delivered or read (a read receipt may come alone)
--     reached_read      = contacts that reached read
--     delivery_rate = reached_delivered / reached_sent, read_rate = reached_read /
--     reached_delivered, read_of_sent = reached_read / reached_sent
--   now_reached_* (the funnel NOW): by each contact's current state, the exclusive state counts
--     rolled up by the catalog's funnel_rank: now_reached_sent = sent + delivered + read +
--     delivery failed, now_reached_delivered = delivered + read, now_reached_read = read; a
--     contact that went Read -> Delivered counts in reached_read, not in now_reached_read
--     now_delivery_rate, now_read_rate, now_read_of_sent: the same ratios of now_reached_*
-- A rate is NULL when its denominator is 0. legacy_mapped: the snapshot's rows in the legacy
-- state (snapshot_log, counted from each row's raw text at publication).
-- campaign_name (last column): the name from the table campaigns, NULL when unknown.
-- The view funnel (no parentheses) is the same as of the latest data.
-- depends: views/contact_state.sql, views/latest_snapshots.sql, views/defaults.sql
CREATE OR REPLACE MACRO funnel(as_of := NULL) AS TABLE
WITH per_contact AS (
    SELECT * FROM contact_state(as_of)
),
counts AS (
    SELECT
        l.campaign_id,
        l.snapshot_id,
        l.snapshot_time,
        count(p.contact_id) AS contacts,
        count(*) FILTER (WHERE p.furthest_rank >= 1) AS reached_sent,
        count(*) FILTER (WHERE p.furthest_rank >= 2) AS reached_delivered,
        count(*) FILTER (WHERE p.furthest_rank >= 3) AS reached_read,
        count(*) FILTER (WHERE p.funnel_rank >= 1) AS now_reached_sent,
        count(*) FILTER (WHERE p.funnel_rank >= 2) AS now_reached_delivered,
        count(*) FILTER (WHERE p.funnel_rank >= 3) AS now_reached_read,
        count(*) FILTER (WHERE p.state = 'sending_failed') AS sending_failed,
        count(*) FILTER (WHERE p.state = 'error') AS error,
        count(*) FILTER (WHERE p.state = 'delivery_failed') AS delivery_failed,
        count(*) FILTER (WHERE p.category = 'pending') AS pending,
        count(*) FILTER (WHERE p.category = 'excluded') AS excluded,
        count(*) FILTER (WHERE p.state = 'other') AS other,
        coalesce(any_value(g.legacy_rows), 0) AS legacy_mapped
    FROM latest_snapshots(as_of) AS l
    LEFT JOIN snapshot_log AS g ON g.snapshot_id = l.snapshot_id
    LEFT JOIN per_contact AS p ON p.campaign_id = l.campaign_id
    GROUP BY l.campaign_id, l.snapshot_id, l.snapshot_time
)
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    contacts,
    reached_sent,
    reached_delivered,
    reached_read,
    ratio(reached_delivered, reached_sent) AS delivery_rate,
    ratio(reached_read, reached_delivered) AS read_rate,
    ratio(reached_read, reached_sent) AS read_of_sent,
    now_reached_sent,
    now_reached_delivered,
    now_reached_read,
    ratio(now_reached_delivered, now_reached_sent) AS now_delivery_rate,
    ratio(now_reached_read, now_reached_delivered) AS now_read_rate,
    ratio(now_reached_read, now_reached_sent) AS now_read_of_sent,
    sending_failed + error + delivery_failed AS failed,
    sending_failed,
    error,
    delivery_failed,
    pending,
    excluded,
    other,
    legacy_mapped,
    (SELECT any_value(n.name) FROM campaigns AS n WHERE n.campaign_id = counts.campaign_id)
        AS campaign_name
FROM counts;

COMMENT ON MACRO TABLE funnel IS 'funnel(as_of := latest): per campaign, contacts, the funnel ever (reached_*: furthest stage ever reached) and now (now_reached_*: current states rolled up), their rates (NULL on a zero denominator), failures, pending, excluded.';

CREATE OR REPLACE VIEW funnel AS SELECT * FROM funnel();
COMMENT ON VIEW funnel IS 'The funnel of each campaign as of the latest data. For another time: SELECT * FROM funnel(TIMESTAMPTZ ''2026-11-28 06:00:00+01'').';
COMMENT ON COLUMN funnel.campaign_id IS 'The campaign.';
COMMENT ON COLUMN funnel.snapshot_id IS 'The campaign''s latest complete snapshot at or before the as-of time.';
COMMENT ON COLUMN funnel.snapshot_time IS 'Its time.';
COMMENT ON COLUMN funnel.contacts IS 'Contacts in that snapshot.';
COMMENT ON COLUMN funnel.reached_sent IS 'Contacts that ever reached Sent: sent + delivered + read + delivery failed (+ legacy mapped to sent), furthest stage.';
COMMENT ON COLUMN funnel.reached_delivered IS 'Contacts that ever reached Delivered: delivered + read.';
COMMENT ON COLUMN funnel.reached_read IS 'Contacts that ever reached Read.';
COMMENT ON COLUMN funnel.delivery_rate IS 'reached_delivered / reached_sent; NULL if reached_sent = 0.';
COMMENT ON COLUMN funnel.read_rate IS 'reached_read / reached_delivered; NULL if reached_delivered = 0.';
COMMENT ON COLUMN funnel.read_of_sent IS 'reached_read / reached_sent; NULL if reached_sent = 0.';
COMMENT ON COLUMN funnel.now_reached_sent IS 'Funnel now: contacts whose current state is sent, delivered, read or delivery failed (+ legacy mapped to sent).';
COMMENT ON COLUMN funnel.now_reached_delivered IS 'Funnel now: contacts now in delivered or read.';
COMMENT ON COLUMN funnel.now_reached_read IS 'Funnel now: contacts now in read.';
COMMENT ON COLUMN funnel.now_delivery_rate IS 'now_reached_delivered / now_reached_sent; NULL if 0.';
COMMENT ON COLUMN funnel.now_read_rate IS 'now_reached_read / now_reached_delivered; NULL if 0.';
COMMENT ON COLUMN funnel.now_read_of_sent IS 'now_reached_read / now_reached_sent; NULL if 0.';
COMMENT ON COLUMN funnel.failed IS 'Contacts now in sending failed, error or delivery failed.';
COMMENT ON COLUMN funnel.sending_failed IS 'Contacts now in Sending failed (no WhatsApp account).';
COMMENT ON COLUMN funnel.error IS 'Contacts now in Error.';
COMMENT ON COLUMN funnel.delivery_failed IS 'Contacts now in Delivery failed (they count as sent).';
COMMENT ON COLUMN funnel.pending IS 'Contacts now in Initial, In progress or Retry scheduled.';
COMMENT ON COLUMN funnel.excluded IS 'Contacts now in Invalid record, Removed or Canceled by admin.';
COMMENT ON COLUMN funnel.other IS 'Contacts now in a state the catalog does not know.';
COMMENT ON COLUMN funnel.legacy_mapped IS 'Rows of the snapshot in the legacy Successfully Submitted state (mapped), counted at publication.';
COMMENT ON COLUMN funnel.campaign_name IS 'The campaign''s name from the table campaigns (the API''s campaign list); NULL when unknown.';
