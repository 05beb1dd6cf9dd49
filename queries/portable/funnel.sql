-- funnel: the Sent -> Delivered -> Read funnel of each snapshot, both of the contacts' current
-- states and of the furthest stage each contact ever reached.
-- One row = one complete snapshot of a local day in [day_from, day_to]. Grain: snapshot_id.
-- Input: snapshot_counts. As the warehouse's funnel(as_of := snapshot_time), plus current_*.
--
--   current_sent = contacts now in sent, delivered, read or delivery failed (a legacy
--   Successfully Submitted counts as sent); current_delivered = now in delivered or read;
--   current_read = now in read. reached_* = the same by the furthest stage ever reached.
--   delivery_rate = delivered / sent, read_rate = read / delivered, read_of_sent = read / sent,
--   of each funnel; NULL when the denominator is 0, never 0 or an error.
--   failed = sending failed + error + delivery failed (now); pending, excluded: by category.
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    day,
    contacts,
    current_sent,
    current_delivered,
    current_read,
    CASE WHEN current_sent > 0 THEN CAST(current_delivered AS DOUBLE) / current_sent END
        AS current_delivery_rate,
    CASE WHEN current_delivered > 0 THEN CAST(current_read AS DOUBLE) / current_delivered END
        AS current_read_rate,
    CASE WHEN current_sent > 0 THEN CAST(current_read AS DOUBLE) / current_sent END
        AS current_read_of_sent,
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
