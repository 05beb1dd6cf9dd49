-- attention_rates: the rate rules of attention (views/attention.sql): read of sent and delivered of
-- sent clearly below normal. One row = one campaign, day and rule that holds. Grain: campaign_id,
-- on_day, rule. Parameters: day (DATE; the last day judged), tz (IANA time zone); the
-- alerts.lookback_days days up to day are judged.
--
-- For each campaign and day: its rates (funnel ever, campaign_daily) at its last complete snapshot
-- of the day, and its age then (hours since its first complete snapshot). Two comparisons:
--   peers  the tenant's other campaigns at the same age: each one observed at least that long by
--          the end of the day, its rate from contact_milestones counted up to the same hour since
--          its own first snapshot (to the hour), and only those with alerts.min_sent reached Sent
--          by then; at least alerts.min_peers of them. A campaign merely younger than the others
--          is compared with their values at its own age, never with their later ones.
--   own    the campaign's own earlier days (campaign_daily before the day) with alerts.min_sent
--          reached Sent; at least alerts.min_days of them.
-- The campaign itself needs alerts.min_sent reached Sent. It is flagged when its rate is below
-- median - max(alerts.mad_factor x 1.4826 x MAD, alerts.min_gap) (MAD: the median absolute
-- deviation from the median; x 1.4826 makes it comparable to a standard deviation).
-- depends: formulas/params.sql, views/defaults.sql, views/campaign_daily.sql
-- Helpers of the attention rules: alert_value(name) = setting alerts.<name> as a number (NULL if
-- missing), alert_on(rule) = the rule is not turned off, alert_pct(x) = a fraction as '12.0 %',
-- alert_limit(x) = a threshold as '10 %' or '12.5 %'.
CREATE OR REPLACE MACRO alert_value(name) AS
    (SELECT TRY_CAST(value AS DOUBLE) FROM settings WHERE key = 'alerts.' || name);

CREATE OR REPLACE MACRO alert_on(rule) AS
    coalesce((SELECT value FROM settings WHERE key = 'alerts.enabled'), 'true') = 'true'
    AND NOT list_contains(
        string_split(coalesce((SELECT value FROM settings WHERE key = 'alerts.off'), ''), ','),
        rule
    );

CREATE OR REPLACE MACRO alert_pct(x) AS
    printf('%.1f', 100 * x) || ' %';

CREATE OR REPLACE MACRO alert_limit(x) AS
    regexp_replace(printf('%.1f', 100 * x), '\.0$', '') || ' %';

CREATE OR REPLACE MACRO attention_rates(upto := NULL, tz := NULL) AS TABLE
WITH p AS (
    SELECT
        coalesce(tz, configured_timezone()) AS zone,
        CAST(upto AS DATE) AS d,
        CAST(upto AS DATE) - CAST(
            coalesce((SELECT TRY_CAST(value AS DOUBLE) FROM settings
                WHERE key = 'alerts.lookback_days'), 14) AS INTEGER
        ) + 1 AS d_first
),
k AS (
    SELECT
        coalesce(alert_value('min_sent'), 200) AS min_sent,
        coalesce(alert_value('min_peers'), 4) AS min_peers,
        coalesce(alert_value('min_days'), 3) AS min_days,
        coalesce(alert_value('mad_factor'), 3) * 1.4826 AS mad_k,
        coalesce(alert_value('min_gap'), 0.05) AS min_gap
),
starts AS (
    SELECT campaign_id, min(snapshot_time) AS first_time
    FROM snapshot_log
    WHERE complete
    GROUP BY campaign_id
),
all_days AS (
    SELECT c.* RENAME (day AS on_day)
    FROM campaign_daily(tz := (SELECT zone FROM p)) AS c, p
    WHERE c.day <= p.d
),
metrics AS (
    -- every campaign day's two rates, with the campaign's age at the snapshot
    SELECT
        x.on_day,
        x.campaign_id,
        m.metric,
        x.reached_sent AS sent,
        CASE m.metric WHEN 'read_of_sent' THEN x.reached_read ELSE x.reached_delivered END AS num,
        seconds_between(s.first_time, x.snapshot_time) / 3600.0 AS age_hours,
        day_start(x.on_day + 1, p.zone) AS x_end
    FROM all_days AS x
    JOIN starts AS s ON s.campaign_id = x.campaign_id
    CROSS JOIN (VALUES ('read_of_sent'), ('delivered_of_sent')) AS m(metric)
    CROSS JOIN p
),
targets AS (
    SELECT t.*, ratio(t.num, t.sent) AS value
    FROM metrics AS t, p, k
    WHERE t.on_day >= p.d_first AND t.sent >= k.min_sent
),
marks AS (
    -- per campaign, stage and whole hour since its start: contacts first reaching that stage
    -- (kept by the build: reach_hours = reach_hours_of(), from contact_milestones)
    SELECT campaign_id, stage, hour, contacts AS n FROM reach_hours
),
seen AS (
    -- how long each campaign had been observed by the end of each judged day
    SELECT
        e.x_end,
        g.campaign_id,
        seconds_between(any_value(s.first_time), max(g.snapshot_time)) / 3600.0 AS seen_hours
    FROM (SELECT DISTINCT x_end FROM targets) AS e
    JOIN snapshot_log AS g ON g.complete AND g.snapshot_time < e.x_end
    JOIN starts AS s ON s.campaign_id = g.campaign_id
    GROUP BY ALL
),
reached_by_hour AS (
    -- per campaign and whole hour with a mark: contacts that reached each stage up to its end
    -- (NULL: none yet)
    SELECT
        campaign_id,
        hour,
        sum(sum(n) FILTER (WHERE stage = 'sent')) OVER w AS sent,
        sum(sum(n) FILTER (WHERE stage = 'delivered')) OVER w AS delivered,
        sum(sum(n) FILTER (WHERE stage = 'read')) OVER w AS read
    FROM marks
    GROUP BY campaign_id, hour
    WINDOW w AS (PARTITION BY campaign_id ORDER BY hour)
),
peer_pairs AS (
    SELECT
        t.on_day,
        t.campaign_id,
        t.metric,
        v.campaign_id AS peer,
        CAST(floor(t.age_hours) AS BIGINT) AS upto_hour
    FROM targets AS t
    JOIN seen AS v
        ON v.x_end = t.x_end AND v.campaign_id <> t.campaign_id AND v.seen_hours >= t.age_hours
),
peer_counts AS (
    -- each peer's counts up to the same whole hour since its start (its last hour with a mark
    -- at or before it; no mark that early: no row)
    SELECT
        p.on_day,
        p.campaign_id,
        p.metric,
        p.peer,
        r.sent,
        CASE p.metric WHEN 'read_of_sent' THEN r.read ELSE r.delivered END AS num
    FROM peer_pairs AS p
    ASOF JOIN reached_by_hour AS r ON r.campaign_id = p.peer AND r.hour <= p.upto_hour
),
samples AS (
    SELECT c.on_day, c.campaign_id, c.metric, 'peers' AS against, ratio(coalesce(c.num, 0), c.sent)
        AS rate
    FROM peer_counts AS c, k
    WHERE c.sent >= k.min_sent
    UNION ALL
    SELECT t.on_day, t.campaign_id, t.metric, 'own', ratio(o.num, o.sent)
    FROM targets AS t
    JOIN metrics AS o
        ON o.campaign_id = t.campaign_id AND o.metric = t.metric AND o.on_day < t.on_day
    CROSS JOIN k
    WHERE o.sent >= k.min_sent
),
centre AS (
    SELECT on_day, campaign_id, metric, against, count(*) AS n, median(rate) AS med
    FROM samples
    GROUP BY ALL
),
spread AS (
    SELECT c.on_day, c.campaign_id, c.metric, c.against, any_value(c.n) AS n,
        any_value(c.med) AS med, median(abs(s.rate - c.med)) AS mad
    FROM centre AS c
    JOIN samples AS s USING (on_day, campaign_id, metric, against)
    GROUP BY ALL
),
judged AS (
    SELECT t.*, s.against, s.n, s.med, s.med - greatest(k.mad_k * s.mad, k.min_gap) AS threshold
    FROM targets AS t
    JOIN spread AS s USING (on_day, campaign_id, metric)
    CROSS JOIN k
    WHERE s.n >= CASE s.against WHEN 'peers' THEN k.min_peers ELSE k.min_days END
)
SELECT
    j.on_day,
    j.campaign_id,
    j.metric || '_below_' || j.against AS rule,
    j.value,
    j.threshold,
    CASE j.metric WHEN 'read_of_sent' THEN 'Read of sent ' ELSE 'Delivered of sent ' END
        || alert_pct(j.value) || ' (' || format('{:,}', j.num) || ' of ' || format('{:,}', j.sent)
        || ' reached Sent) at ' || CAST(round(j.age_hours) AS BIGINT)
        || ' h since the campaign''s first snapshot; '
        || CASE j.against
            WHEN 'peers' THEN 'the median of ' || j.n || ' other campaigns at that age is '
            ELSE 'the median of its ' || j.n || ' earlier days is '
        END
        || alert_pct(j.med) || ', and the rule flags below ' || alert_pct(j.threshold) AS detail,
    'rates' AS anchor
FROM judged AS j
WHERE j.value < j.threshold;

COMMENT ON MACRO TABLE attention_rates IS 'attention_rates(day, tz): the rate rules of attention (read of sent, delivered of sent below the tenant''s other campaigns at the same age, or below the campaign''s own earlier days), per day of the alerts.lookback_days up to day.';
