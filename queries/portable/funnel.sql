-- funnel: the Sent -> Delivered -> Read funnel of each snapshot, both of the contacts' current
-- states and of the furthest stage each contact ever reached.
-- One row = one complete snapshot of a local day in [day_from, day_to]. Grain: snapshot_id.
-- Input: snapshot_counts. As the warehouse's funnel(as_of := snapshot_time).
--
--   now_reached_* (the funnel NOW): now_reached_sent = contacts now in sent, delivered, read or
--   delivery failed (a legacy Successfully Submitted counts as sent); now_reached_delivered =
--   now in delivered or read; now_reached_read = now in read. reached_* (the funnel EVER): the
--   same by the furthest stage ever reached.
--   delivery_rate = delivered / sent, read_rate = read / delivered, read_of_sent = read / sent,
--   of each funnel; NULL when the denominator is 0, never 0 or an error.
--   failed = sending failed + error + delivery failed (now); pending, excluded: by category.
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    day,
    contacts,
    now_reached_sent,
    now_reached_delivered,
    now_reached_read,
    CASE
        WHEN now_reached_sent > 0 THEN CAST(now_reached_delivered AS DOUBLE) / now_reached_sent
    END AS now_delivery_rate,
    CASE
        WHEN now_reached_delivered > 0
            THEN CAST(now_reached_read AS DOUBLE) / now_reached_delivered
    END AS now_read_rate,
    CASE
        WHEN now_reached_sent > 0 THEN CAST(now_reached_read AS DOUBLE) / now_reached_sent
    END AS now_read_of_sent,
    reached_sent,
    reached_delivered,
    reached_read,
    CASE WHEN reached_sent > 0 THEN CAST(reached_delivered AS DOUBLE) / reached_sent END
        AS delivery_rate,
    CASE WHEN reached_delivered > 0 THEN CAST(reached_read AS DOUBLE) / reached_delivered END
        AS read_rate,
    CASE WHEN reached_sent > 0 THEN CAST(reached_read AS DOUBLE) / reached_sent END
        AS read_of_sent,
    sending_failed + error + delivery_failed AS failed,
    sending_failed,
    error,
    delivery_failed,
    pending,
    excluded,
    other,
    legacy_mapped
FROM snapshot_counts
