-- report_unknown_states: raw state texts the catalog does not know, in a daily report's snapshots.
-- One row = one raw text in one listed campaign's report snapshot. Grain: campaign_id, raw_state.
-- Parameters: report_day (DATE), tz, days, daily, listed (as report_campaigns).
-- contacts: contacts the snapshot listed with that raw text (all counted in state other). A raw
-- text longer than 40 characters is cut there and ends in an ellipsis (pages never print more);
-- the report escapes it.
-- depends: report/report_campaigns.sql, formulas/state_history.sql
CREATE OR REPLACE MACRO report_unknown_states(report_day, tz := NULL, days := 30, daily := NULL, listed := NULL) AS TABLE
SELECT
    l.campaign_id,
    CASE WHEN length(h.raw_state) > 40 THEN left(h.raw_state, 40) || '…' ELSE h.raw_state END
        AS raw_state,
    count(*) AS contacts
FROM report_campaigns(report_day, tz := tz, days := days, daily := daily, listed := listed) AS l
JOIN state_history AS h
    ON h.campaign_id = l.campaign_id
    AND h.valid_from <= l.snapshot_time
    AND coalesce(h.valid_to, 'infinity'::TIMESTAMPTZ) > l.snapshot_time
WHERE h.state = 'other'
GROUP BY ALL
ORDER BY l.campaign_id, contacts DESC, raw_state;

COMMENT ON MACRO TABLE report_unknown_states IS 'report_unknown_states(report_day, tz, days := 30, daily := NULL, listed := NULL): per listed campaign, the raw state texts counted as other, with their contacts.';
