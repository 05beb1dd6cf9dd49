-- attention: what needs attention on a day, ranked. One row = one finding: one rule that holds
-- for one campaign (campaign_id NULL: for the whole tenant). Grain: campaign_id, rule.
-- Parameters: day (DATE or 'YYYY-MM-DD'; default the local day of latest_data_time()), tz (IANA
-- time zone; default the configured one). Thresholds: the [alerts] settings (settings table,
-- keys alerts.<name>); a rule listed in alerts.off, or all with alerts.enabled = false, raises
-- nothing.
--
-- Rules (code: when it holds on a day):
--   <state>_share        sending_failed, error, delivery_failed, canceled_by_admin, removed: more
--                        than alerts.<state>_share of the campaign's contacts in that state at
--                        its last complete snapshot of the day (campaigns of at least
--                        alerts.min_contacts); high at twice the threshold or more
--   <rate>_below_peers   read_of_sent, delivered_of_sent (= delivery_rate): the campaign's rate
--                        (funnel ever) at its last snapshot of the day is below the median of the
--                        tenant's other campaigns at the same age (hours since each campaign's
--                        first complete snapshot, to the hour) by more than
--                        max(alerts.mad_factor x 1.4826 x MAD, alerts.min_gap); needs at least
--                        alerts.min_peers other campaigns observed that long and the campaign and
--                        each of them with at least alerts.min_sent reached Sent by then
--   <rate>_below_own     the same rates against the campaign's own earlier days (campaign_daily,
--                        at least alerts.min_days of them with min_sent), same robust rule
--   stuck_growing        contacts stuck (stuck_counts) at the day's last snapshot are at least
--                        alerts.stuck_min and more than at the snapshot before the day (or, on
--                        the campaign's first day, its first snapshot of the day)
--   stale                campaign_lifecycle says stale at the end of the day
--   incomplete_export    snapshots of the day published incomplete (quality_incomplete), with the
--                        reason and the last complete snapshot before and its age
--   export_failed        scheduler export runs (runs) that failed on the day (tenant-wide)
--   quarantined_rows     more than alerts.quarantined_rows rows of the day quarantined at ingest
--   unknown_state        contacts in a state the catalog does not know (state other)
-- since: the first day of the unbroken run of days (at most alerts.lookback_days back) on which
-- the same rule held for the same campaign; a day without the campaign's data breaks the run.
-- For stale: the day it became stale. rank: high, then medium, then low; within a severity the
-- furthest over its threshold first.
-- depends: formulas/params.sql, views/defaults.sql, views/campaign_daily.sql
-- depends: views/campaign_lifecycle.sql, views/quality.sql, views/stuck_counts.sql, views/runs.sql
-- depends: views/stuck_contacts.sql
-- depends: views/attention_rates.sql
CREATE OR REPLACE MACRO attention_findings(upto := NULL, tz := NULL) AS TABLE
WITH p AS (
    SELECT zone, d, d - CAST(coalesce(alert_value('lookback_days'), 14) AS INTEGER) + 1 AS d_first
    FROM (
        SELECT
            coalesce(tz, configured_timezone()) AS zone,
            day_or_latest(upto, tz) AS d
    )
),
days AS (
    SELECT on_day, day_start(on_day, p.zone) AS x_start, day_start(on_day + 1, p.zone) AS x_end
    FROM p, (
        SELECT CAST(unnest(generate_series(
            CAST(d_first AS TIMESTAMP), CAST(d AS TIMESTAMP), INTERVAL 1 DAY
        )) AS DATE) AS on_day
        FROM p
    )
),
k AS (
    -- the thresholds, once
    SELECT
        coalesce(alert_value('min_contacts'), 50) AS min_contacts,
        coalesce(alert_value('min_sent'), 200) AS min_sent,
        coalesce(alert_value('min_peers'), 4) AS min_peers,
        coalesce(alert_value('min_days'), 3) AS min_days,
        coalesce(alert_value('mad_factor'), 3) * 1.4826 AS mad_k,
        coalesce(alert_value('min_gap'), 0.05) AS min_gap,
        coalesce(alert_value('stuck_min'), 10) AS stuck_min,
        coalesce(alert_value('quarantined_rows'), 0) AS quarantine_max
),
daily AS (
    SELECT c.* RENAME (day AS on_day)
    FROM campaign_daily(tz := (SELECT zone FROM p)) AS c, p
    WHERE c.day BETWEEN p.d_first AND p.d
),
share_counts AS (
    UNPIVOT (
        SELECT x.on_day, x.campaign_id, x.contacts, x.sending_failed, x.error,
            x.delivery_failed, x.canceled_by_admin, x.removed
        FROM daily AS x
    )
    ON sending_failed, error, delivery_failed, canceled_by_admin, removed
    INTO NAME state VALUE n
),
shares AS (
    SELECT
        s.on_day,
        s.campaign_id,
        s.state || '_share' AS rule,
        ratio(s.n, s.contacts) AS value,
        alert_value(s.state || '_share') AS threshold,
        format('{:,}', s.n) || ' of ' || format('{:,}', s.contacts) || ' contacts ('
            || alert_pct(ratio(s.n, s.contacts)) || ') in ' || c.label
            || '; the rule flags more than ' || alert_limit(alert_value(s.state || '_share'))
            AS detail,
        'state-counts' AS anchor
    FROM share_counts AS s
    JOIN catalog AS c ON c.state = s.state
    CROSS JOIN k
    WHERE s.contacts >= k.min_contacts
),
rates AS (
    SELECT * FROM attention_rates(upto := (SELECT d FROM p), tz := (SELECT zone FROM p))
),
window_snaps AS (
    -- the complete snapshots of the judged days and each campaign's last one before them (the
    -- first one's "before"): stuck_counts of these alone, not of the whole history
    SELECT l.campaign_id, l.snapshot_id, l.snapshot_time
    FROM snapshot_log AS l, (SELECT min(x_start) AS w_start, max(x_end) AS w_end FROM days) AS w
    WHERE l.complete AND l.snapshot_time >= w.w_start AND l.snapshot_time < w.w_end
    UNION ALL
    SELECT l.campaign_id, arg_max(l.snapshot_id, l.snapshot_time), max(l.snapshot_time)
    FROM snapshot_log AS l, (SELECT min(x_start) AS w_start FROM days) AS w
    WHERE l.complete AND l.snapshot_time < w.w_start
    GROUP BY l.campaign_id
),
window_stuck AS (
    -- stuck_counts' rule (stuck_at, the configured threshold) at those snapshots
    SELECT s.campaign_id, s.snapshot_time, count(k.state) AS stuck
    FROM window_snaps AS s
    LEFT JOIN stuck_at('window_snaps') AS k
        ON k.campaign_id = s.campaign_id AND k.snapshot_time = s.snapshot_time
    GROUP BY s.campaign_id, s.snapshot_id, s.snapshot_time
),
stuck_days AS (
    SELECT
        s.campaign_id,
        d.on_day,
        arg_max(s.stuck, s.snapshot_time) AS last_stuck,
        arg_min(coalesce(s.before_stuck, s.stuck), s.snapshot_time) AS before_stuck
    FROM (
        SELECT *, lag(stuck) OVER (PARTITION BY campaign_id ORDER BY snapshot_time) AS before_stuck
        FROM window_stuck
    ) AS s
    JOIN days AS d ON s.snapshot_time >= d.x_start AND s.snapshot_time < d.x_end
    GROUP BY ALL
),
incomplete AS (
    SELECT
        d.on_day,
        i.campaign_id,
        count(*) AS n,
        arg_min(i.reason, i.snapshot_time) AS reason,
        arg_min(i.last_complete_time, i.snapshot_time) AS last_complete_time,
        arg_min(i.last_complete_age_hours, i.snapshot_time) AS age_hours
    FROM quality_incomplete(tz := (SELECT zone FROM p)) AS i
    JOIN days AS d ON i.snapshot_time >= d.x_start AND i.snapshot_time < d.x_end
    GROUP BY ALL
),
failed_runs AS (
    SELECT d.on_day, count(*) AS n, arg_min(r.error, r.started) AS error
    FROM run_log AS r
    JOIN days AS d ON r.started >= d.x_start AND r.started < d.x_end
    WHERE r.kind = 'export' AND r.status = 'failed'
    GROUP BY ALL
),
quarantined AS (
    SELECT q.on_day, q.campaign_id, sum(q.rows) AS n,
        string_agg(q.rows || ' ' || q.reason, '; ' ORDER BY q.rows DESC, q.reason) AS reasons
    FROM (
        SELECT x.* RENAME (day AS on_day) FROM quality_quarantine(tz := (SELECT zone FROM p)) AS x
    ) AS q, p
    WHERE q.on_day BETWEEN p.d_first AND p.d AND q.campaign_id IS NOT NULL
    GROUP BY ALL
),
found AS (
    SELECT * FROM shares AS s WHERE s.value > s.threshold
    UNION ALL
    SELECT on_day, campaign_id, rule, value, threshold, detail, anchor FROM rates
    UNION ALL
    SELECT
        s.on_day, s.campaign_id, 'stuck_growing' AS rule, s.last_stuck AS value,
        k.stuck_min AS threshold,
        format('{:,}', s.last_stuck) || ' contacts stuck at the day''s last snapshot, up from '
            || format('{:,}', s.before_stuck)
            || '; the rule flags a rise to at least ' || format('{:,}', CAST(k.stuck_min AS BIGINT))
            AS detail,
        'stuck' AS anchor
    FROM stuck_days AS s, k
    WHERE s.last_stuck >= k.stuck_min AND s.last_stuck > s.before_stuck
    UNION ALL
    SELECT
        i.on_day, i.campaign_id, 'incomplete_export', i.n, 0,
        format('{:,}', i.n) || ' snapshot(s) published incomplete and left out of every number ('
            || i.reason || '); '
            || coalesce('the last complete snapshot before is from '
                || strftime(timezone(p.zone, i.last_complete_time), '%Y-%m-%d %H:%M') || ' '
                || p.zone || ', ' || CAST(i.age_hours AS VARCHAR) || ' h older',
                'there is no complete snapshot before'),
        NULL
    FROM incomplete AS i, p
    UNION ALL
    SELECT
        f.on_day, NULL, 'export_failed', f.n, 0,
        format('{:,}', f.n) || ' scheduled export run(s) failed; the first: '
            || CASE WHEN length(f.error) > 160 THEN left(f.error, 160) || '…'
                ELSE coalesce(f.error, 'no error recorded') END,
        NULL
    FROM failed_runs AS f
    UNION ALL
    SELECT
        q.on_day, q.campaign_id, 'quarantined_rows', q.n, k.quarantine_max,
        format('{:,}', q.n) || ' row(s) quarantined at ingest (' || q.reasons
            || '); the rule flags more than ' || format('{:,}', CAST(k.quarantine_max AS BIGINT)),
        'attention'
    FROM quarantined AS q, k
    WHERE q.n > k.quarantine_max
    UNION ALL
    SELECT
        x.on_day, x.campaign_id, 'unknown_state', x.other, 0,
        format('{:,}', x.other) || ' contact(s) in a state the catalog does not know '
            || '(counted as Other)',
        'unknown-states'
    FROM daily AS x
    WHERE x.other > 0
)
SELECT f.on_day, f.campaign_id, f.rule, CAST(f.value AS DOUBLE) AS value,
    CAST(f.threshold AS DOUBLE) AS threshold, f.detail, f.anchor
FROM found AS f
WHERE f.threshold IS NOT NULL AND alert_on(f.rule);

COMMENT ON MACRO TABLE attention_findings IS 'attention_findings(upto := latest day, tz := configured): the per-day findings of the attention rules over the alerts.lookback_days days up to day (without since, rank or labels); attention() ranks the day''s.';

CREATE OR REPLACE MACRO attention(day := NULL, tz := NULL) AS TABLE
WITH p AS (
    SELECT
        coalesce(tz, configured_timezone()) AS zone,
        day_or_latest(day, tz) AS d
),
runs_of AS (
    -- days in a row: on_day minus its position in the (campaign, rule) series is constant
    SELECT
        f.*,
        f.on_day - CAST(
            row_number() OVER (PARTITION BY f.campaign_id, f.rule ORDER BY f.on_day) AS INTEGER
        ) AS run_key
    FROM attention_findings(upto := (SELECT d FROM p), tz := (SELECT zone FROM p)) AS f
),
dated AS (
    SELECT r.*, min(r.on_day) OVER (PARTITION BY r.campaign_id, r.rule, r.run_key) AS since
    FROM runs_of AS r
),
stale AS (
    -- stale since the day its gap grew longer than stale_after_hours
    SELECT
        p.d AS on_day,
        l.campaign_id,
        'stale' AS rule,
        l.hours_since_snapshot AS value,
        g.gap AS threshold,
        'no complete snapshot for ' || CAST(l.hours_since_snapshot AS VARCHAR)
            || ' h at the end of the day (the latest is from '
            || strftime(timezone(p.zone, l.last_snapshot_time), '%Y-%m-%d %H:%M') || ' '
            || p.zone || '); the rule flags more than ' || CAST(g.gap AS VARCHAR) || ' h'
            AS detail,
        'attention' AS anchor,
        local_day(l.last_snapshot_time + to_seconds(CAST(g.gap * 3600 AS BIGINT)), p.zone)
            AS since
    FROM campaign_lifecycle(day := (SELECT d FROM p), tz := (SELECT zone FROM p)) AS l,
        p,
        (SELECT coalesce(
            (SELECT CAST(value AS DOUBLE) FROM settings WHERE key = 'stale_after_hours'), 26
        ) AS gap) AS g
    WHERE l.lifecycle = 'stale' AND alert_on('stale')
),
today AS (
    SELECT x.on_day, x.campaign_id, x.rule, x.value, x.threshold, x.detail, x.anchor, x.since
    FROM dated AS x, p
    WHERE x.on_day = p.d
    UNION ALL BY NAME
    SELECT * FROM stale
),
labelled AS (
    SELECT
        t.*,
        coalesce(c.name, t.campaign_id) AS campaign_name,
        CASE
            WHEN ends_with(t.rule, '_share') THEN 'Many contacts in ' || s.label
            WHEN t.rule = 'read_of_sent_below_peers'
                THEN 'Read of sent below other campaigns at the same age'
            WHEN t.rule = 'delivered_of_sent_below_peers'
                THEN 'Delivered of sent below other campaigns at the same age'
            WHEN t.rule = 'read_of_sent_below_own' THEN 'Read of sent below its earlier days'
            WHEN t.rule = 'delivered_of_sent_below_own'
                THEN 'Delivered of sent below its earlier days'
            WHEN t.rule = 'stuck_growing' THEN 'Stuck contacts growing'
            WHEN t.rule = 'stale' THEN 'No recent snapshot (stale)'
            WHEN t.rule = 'incomplete_export' THEN 'Incomplete export'
            WHEN t.rule = 'export_failed' THEN 'Export failed'
            WHEN t.rule = 'quarantined_rows' THEN 'Rows quarantined at ingest'
            WHEN t.rule = 'unknown_state' THEN 'Unknown state value'
            ELSE t.rule
        END AS title,
        CASE
            WHEN t.rule IN ('incomplete_export', 'export_failed') THEN 'high'
            WHEN ends_with(t.rule, '_share') AND t.value >= 2 * t.threshold THEN 'high'
            WHEN t.rule IN ('quarantined_rows', 'unknown_state') THEN 'low'
            ELSE 'medium'
        END AS severity,
        CASE
            WHEN t.rule = 'export_failed' THEN 'index.html#export-problems'
            WHEN t.rule = 'incomplete_export' THEN 'index.html#freshness'
            ELSE 'campaign-' || t.campaign_id || '.html#' || t.anchor
        END AS link
    FROM today AS t
    LEFT JOIN campaigns AS c ON c.campaign_id = t.campaign_id
    LEFT JOIN catalog AS s ON s.state = regexp_replace(t.rule, '_share$', '')
)
SELECT
    l.on_day AS day,
    l.campaign_id,
    l.campaign_name,
    l.rule,
    l.title,
    l.detail,
    CAST(l.value AS DOUBLE) AS value,
    CAST(l.threshold AS DOUBLE) AS threshold,
    l.severity,
    CAST(row_number() OVER (
        ORDER BY
            CASE l.severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
            CASE
                WHEN contains(l.rule, '_below_')
                    THEN (l.threshold - l.value) / nullif(l.threshold, 0)
                ELSE l.value / nullif(l.threshold, 0)
            END DESC NULLS LAST,
            l.value DESC,
            l.campaign_name NULLS FIRST,
            l.rule
    ) AS INTEGER) AS rank,
    l.since,
    l.link
FROM labelled AS l
ORDER BY rank;

COMMENT ON MACRO TABLE attention IS 'attention(day := latest day, tz := configured): what needs attention on the local day, one row per finding (rule and campaign), ranked (rank 1 first), with since (first day of the unbroken run of days) and a link to the report''s drill-down. Rules and thresholds: [alerts].';

CREATE OR REPLACE VIEW attention AS SELECT * FROM attention();
COMMENT ON VIEW attention IS 'What needs attention on the latest day (configured settings), ranked. Another day: SELECT * FROM attention(DATE ''2026-11-20'').';
COMMENT ON COLUMN attention.day IS 'The local day judged.';
COMMENT ON COLUMN attention.campaign_id IS 'The campaign; NULL for a finding about the whole tenant (export_failed).';
COMMENT ON COLUMN attention.campaign_name IS 'Its name (the id when no name is known); NULL for the tenant.';
COMMENT ON COLUMN attention.rule IS 'The rule''s stable code, e.g. sending_failed_share, read_of_sent_below_peers, stale (see [alerts]).';
COMMENT ON COLUMN attention.title IS 'The rule in words, for people.';
COMMENT ON COLUMN attention.detail IS 'One sentence with the number and the rule''s threshold.';
COMMENT ON COLUMN attention.value IS 'The number judged (a share or rate as a fraction, contacts, rows, snapshots, runs or hours).';
COMMENT ON COLUMN attention.threshold IS 'The rule''s threshold in the same unit (for *_below_*: the value under which it flags).';
COMMENT ON COLUMN attention.severity IS 'high, medium or low.';
COMMENT ON COLUMN attention.rank IS '1 = first to look at: high before medium before low, then furthest past the threshold.';
COMMENT ON COLUMN attention.since IS 'First day of the unbroken run of days with this finding (at most [alerts] lookback_days back; stale: the day it became stale).';
COMMENT ON COLUMN attention.link IS 'Relative link from the day''s report folder to the drill-down (campaign-<id>.html#..., index.html#...).';
