-- check_step: contacts that a snapshot of the batch lists more than once (the store's ingest
-- never publishes such a file: it quarantines repeats). One row = one such contact, at most 5.
-- Input: batch_groups (history_step.sql). Parameters: none.
--
-- Without repeats a contact's rows are at distinct positions (snapshots): its groups' row counts
-- add up to the number of bits set in the union of their position masks.
SELECT campaign_id, contact_id
FROM batch_groups
GROUP BY campaign_id, contact_id
HAVING sum(n_rows) > bit_count(bit_or(mask))
ORDER BY 1, 2
LIMIT 5;
