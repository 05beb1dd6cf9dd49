-- check_step: snapshots of the batch that list a contact more than once (the store's ingest never
-- publishes such a file: it quarantines repeats). One row = one such contact, at most 5.
-- Input: batch_intervals and batch_seq (history_step.sql). Parameters: none.
WITH ordered AS (
    SELECT
        *,
        lag(last_pos) OVER (PARTITION BY campaign_id, contact_id ORDER BY first_pos) AS prev_last
    FROM batch_intervals
)
SELECT o.campaign_id, o.contact_id, s.snapshot_id
FROM ordered AS o
JOIN batch_seq AS s ON s.campaign_id = o.campaign_id AND s.pos = o.first_pos
WHERE o.prev_last >= o.first_pos OR o.n_rows > o.last_pos - o.first_pos + 1
ORDER BY 1, 2
LIMIT 5;
