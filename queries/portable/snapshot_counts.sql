-- snapshot_counts: every count the per-snapshot and per-day metrics show, once per snapshot.
-- One row = one complete snapshot of a local day in the range [day_from, day_to].
-- Grain: snapshot_id. Inputs: contact_steps, params.
--
-- State columns (initial .. other) are exclusive counts that sum to contacts (the catalog's 12
-- states and other). Two funnels, never confused:
--   now_reached_sent / now_reached_delivered / now_reached_read   (the funnel NOW) contacts
--       whose CURRENT state has reached the stage (catalog funnel_rank >= 1, 2, 3): sent + delivered + read + delivery failed
--       (+ legacy mapped to sent); delivered + read; read
--   reached_sent / reached_delivered / reached_read   (the funnel EVER) contacts whose FURTHEST
--       stage EVER reached,
--       up to this snapshot, is at least that (a contact now Removed that once Read counts)
-- pending, excluded: by catalog category. legacy_mapped: rows in the legacy Successfully
-- Submitted state (mapped). stuck_in_progress / stuck_retry_scheduled: contacts in that state
-- for strictly longer than params.stuck_minutes, measured from the first snapshot of their current
-- run in it to this snapshot (the warehouse's stuck_contacts with as_of = this snapshot).
SELECT
    k.campaign_id,
    k.snapshot_id,
    k.snapshot_time,
    k.day,
    count(*) AS contacts,
    count(*) FILTER (WHERE k.state = 'initial') AS initial,
    count(*) FILTER (WHERE k.state = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE k.state = 'retry_scheduled') AS retry_scheduled,
    count(*) FILTER (WHERE k.state = 'sent') AS sent,
    count(*) FILTER (WHERE k.state = 'delivered') AS delivered,
    count(*) FILTER (WHERE k.state = 'read') AS read,
    count(*) FILTER (WHERE k.state = 'delivery_failed') AS delivery_failed,
    count(*) FILTER (WHERE k.state = 'sending_failed') AS sending_failed,
    count(*) FILTER (WHERE k.state = 'error') AS error,
    count(*) FILTER (WHERE k.state = 'invalid_record') AS invalid_record,
    count(*) FILTER (WHERE k.state = 'removed') AS removed,
    count(*) FILTER (WHERE k.state = 'canceled_by_admin') AS canceled_by_admin,
    count(*) FILTER (WHERE k.state = 'other') AS other,
    count(*) FILTER (WHERE k.funnel_rank >= 1) AS now_reached_sent,
    count(*) FILTER (WHERE k.funnel_rank >= 2) AS now_reached_delivered,
    count(*) FILTER (WHERE k.funnel_rank >= 3) AS now_reached_read,
    count(*) FILTER (WHERE k.furthest_rank >= 1) AS reached_sent,
    count(*) FILTER (WHERE k.furthest_rank >= 2) AS reached_delivered,
    count(*) FILTER (WHERE k.furthest_rank >= 3) AS reached_read,
    count(*) FILTER (WHERE k.category = 'pending') AS pending,
    count(*) FILTER (WHERE k.category = 'excluded') AS excluded,
    count(*) FILTER (WHERE k.legacy) AS legacy_mapped,
    count(*) FILTER (
        WHERE k.state = 'in_progress' AND k.in_state_seconds / 60.0 > p.stuck_minutes
    ) AS stuck_in_progress,
    count(*) FILTER (
        WHERE k.state = 'retry_scheduled' AND k.in_state_seconds / 60.0 > p.stuck_minutes
    ) AS stuck_retry_scheduled
FROM contact_steps AS k
CROSS JOIN params AS p
WHERE p.day_from IS NULL OR k.day >= p.day_from
GROUP BY k.campaign_id, k.snapshot_id, k.snapshot_time, k.day
