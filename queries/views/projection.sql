-- projection: where each running campaign's read of sent and delivered of sent will end, from
-- the tenant's finished campaigns at the same age, with a band and the method's track record.
-- One row = one running campaign and one metric (read_of_sent, delivered_of_sent) at the end of
-- a local day. Grain: campaign_id, metric.
-- Parameters: day (DATE; default the local day of latest_data_time()), tz (default the
-- configured one), min_campaigns (default [report] projection_min_campaigns, 3), ages (the
-- name of a table holding SELECT * FROM campaign_age, made once for many days; default the view).
--
-- Campaigns and their lifecycle as at the end of the day (campaign_lifecycle, snapshots up to
-- then; campaign_age for the curves):
--   projected   campaigns whose lifecycle is running or unknown (not final, not stale), at
--               their last snapshot: age a (hours since start) and current value v.
--   references  the campaigns that are finished (not canceled: an admin cut those short), each
--               with its final value F (its last snapshot) and its value at age a, A (its last
--               snapshot at or before age a; a campaign that ended younger than a has A = F).
--               ratio = F / A; a reference with A NULL or 0 has no ratio and is not counted.
--   projected = least(1, v * median(ratio)); projected_low / projected_high = least(1, v *
--               the 10th / 90th percentile of the ratios (quantile_cont, linear between them)).
--               Given only when at least min_campaigns references have a ratio and v is not
--               NULL (shown); otherwise NULL, and reason says why.
--   track record: each reference f projected the same way as if it were still running at age
--               a, from the OTHER references (leave one out): least(1, A_f * median(ratio_g, g
--               != f)); its error = |that - F_f| in percentage points. backtest_campaigns = how
--               many references could be projected so (at least one other ratio),
--               backtest_median_abs_error_pp / backtest_max_abs_error_pp their median / max.
-- depends: views/campaign_age.sql, views/campaign_lifecycle.sql, formulas/params.sql, views/defaults.sql
CREATE OR REPLACE MACRO projection(
    day := NULL, tz := NULL, min_campaigns := NULL, ages := NULL
) AS TABLE
WITH p AS (
    SELECT
        d,
        day_start(d + 1, zone) AS d_end,
        coalesce(
            CAST(min_campaigns AS INTEGER),
            (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'projection_min_campaigns'),
            3
        ) AS min_n
    FROM (
        SELECT
            coalesce(tz, configured_timezone()) AS zone,
            day_or_latest(day, tz) AS d
    )
),
life AS (
    SELECT campaign_id, lifecycle FROM campaign_lifecycle(day := day, tz := tz)
),
curve AS (
    -- every snapshot up to the day's end, one row per metric
    SELECT a.campaign_id, a.snapshot_time, a.age_hours, m.metric,
        CASE m.metric WHEN 'read_of_sent' THEN a.read_of_sent ELSE a.delivered_of_sent END
            AS value
    FROM query_table(coalesce(ages, 'campaign_age')) AS a
    CROSS JOIN p
    CROSS JOIN (VALUES ('read_of_sent'), ('delivered_of_sent')) AS m(metric)
    WHERE a.snapshot_time < p.d_end
),
latest AS (
    SELECT campaign_id, metric, arg_max(age_hours, snapshot_time) AS age_hours,
        arg_max(value, snapshot_time) AS value
    FROM curve
    GROUP BY campaign_id, metric
),
targets AS (
    SELECT l.* FROM latest AS l JOIN life USING (campaign_id)
    WHERE life.lifecycle IN ('running', 'unknown')
),
finals AS (
    SELECT l.campaign_id, l.metric, l.value AS final_value
    FROM latest AS l JOIN life USING (campaign_id)
    WHERE life.lifecycle = 'finished'
),
pairs AS (
    SELECT t.campaign_id, t.metric, t.age_hours, f.campaign_id AS ref_id, f.final_value
    FROM targets AS t JOIN finals AS f USING (metric)
),
refs AS (
    -- each reference's value at the target's age, and its final / at-age ratio
    SELECT pr.campaign_id, pr.metric, pr.ref_id, pr.final_value, c.value AS at_age,
        CASE WHEN c.value > 0 THEN pr.final_value / c.value END AS ratio
    FROM pairs AS pr
    ASOF JOIN curve AS c
        ON c.campaign_id = pr.ref_id AND c.metric = pr.metric AND c.age_hours <= pr.age_hours
),
loo AS (
    -- each reference projected from the others (leave one out)
    SELECT f.campaign_id, f.metric, f.ref_id,
        abs(least(1.0, f.at_age * median(g.ratio)) - f.final_value) * 100 AS abs_error_pp
    FROM refs AS f
    JOIN refs AS g
        ON g.campaign_id = f.campaign_id AND g.metric = f.metric AND g.ref_id <> f.ref_id
    WHERE f.at_age IS NOT NULL AND g.ratio IS NOT NULL
    GROUP BY f.campaign_id, f.metric, f.ref_id, f.at_age, f.final_value
),
band AS (
    SELECT campaign_id, metric, count(ratio) AS n, median(ratio) AS median_ratio,
        quantile_cont(ratio, 0.1) AS low_ratio, quantile_cont(ratio, 0.9) AS high_ratio
    FROM refs
    GROUP BY campaign_id, metric
),
record AS (
    SELECT campaign_id, metric, count(*) AS backtest_campaigns,
        median(abs_error_pp) AS backtest_median_abs_error_pp,
        max(abs_error_pp) AS backtest_max_abs_error_pp
    FROM loo
    GROUP BY campaign_id, metric
),
judged AS (
    SELECT t.*, coalesce(b.n, 0) AS n, b.median_ratio, b.low_ratio, b.high_ratio, p.d, p.min_n,
        coalesce(b.n, 0) >= p.min_n AND t.value IS NOT NULL AS shown,
        r.backtest_campaigns, r.backtest_median_abs_error_pp, r.backtest_max_abs_error_pp
    FROM targets AS t
    CROSS JOIN p
    LEFT JOIN band AS b USING (campaign_id, metric)
    LEFT JOIN record AS r USING (campaign_id, metric)
)
SELECT
    d AS day,
    campaign_id,
    metric,
    age_hours,
    value AS current_value,
    n AS reference_campaigns,
    min_n AS min_campaigns,
    shown,
    CASE WHEN shown THEN median_ratio END AS median_ratio,
    CASE WHEN shown THEN least(1.0, value * median_ratio) END AS projected,
    CASE WHEN shown THEN least(1.0, value * low_ratio) END AS projected_low,
    CASE WHEN shown THEN least(1.0, value * high_ratio) END AS projected_high,
    CASE WHEN shown THEN coalesce(backtest_campaigns, 0) ELSE 0 END AS backtest_campaigns,
    CASE WHEN shown THEN backtest_median_abs_error_pp END AS backtest_median_abs_error_pp,
    CASE WHEN shown THEN backtest_max_abs_error_pp END AS backtest_max_abs_error_pp,
    CASE
        WHEN value IS NULL THEN 'nothing reached Sent yet'
        WHEN NOT shown THEN n || ' finished campaign(s) with a value at this age; at least '
            || min_n || ' needed'
        ELSE 'from ' || n || ' finished campaign(s) at the same age'
    END AS reason
FROM judged;

COMMENT ON MACRO TABLE projection IS 'projection(day := latest, tz := configured, min_campaigns := [report] projection_min_campaigns): per running campaign and metric (read_of_sent, delivered_of_sent), its projected final value from finished campaigns at the same age (median final/at-age ratio, 10-90 % band) and the leave-one-out track record.';

CREATE OR REPLACE VIEW projection AS SELECT * FROM projection();
COMMENT ON VIEW projection IS 'Where each running campaign''s read of sent and delivered of sent will end, at the end of the latest day. Another day: SELECT * FROM projection(DATE ''2026-11-27'').';
COMMENT ON COLUMN projection.day IS 'The local day at whose end it is judged.';
COMMENT ON COLUMN projection.campaign_id IS 'The running (or unknown: files only) campaign.';
COMMENT ON COLUMN projection.metric IS 'read_of_sent or delivered_of_sent.';
COMMENT ON COLUMN projection.age_hours IS 'Hours since its start at its last snapshot (campaign_age).';
COMMENT ON COLUMN projection.current_value IS 'The metric at that snapshot.';
COMMENT ON COLUMN projection.reference_campaigns IS 'Finished campaigns with a final / at-age ratio (value at this age above 0).';
COMMENT ON COLUMN projection.min_campaigns IS 'How many are needed for a projection.';
COMMENT ON COLUMN projection.shown IS 'True when reference_campaigns >= min_campaigns and current_value is known.';
COMMENT ON COLUMN projection.median_ratio IS 'Median over the references of final value / value at this age.';
COMMENT ON COLUMN projection.projected IS 'least(1, current_value * median_ratio).';
COMMENT ON COLUMN projection.projected_low IS 'least(1, current_value * the 10th percentile of the ratios).';
COMMENT ON COLUMN projection.projected_high IS 'least(1, current_value * the 90th percentile of the ratios).';
COMMENT ON COLUMN projection.backtest_campaigns IS 'References projected as if still running at this age from the others (leave one out).';
COMMENT ON COLUMN projection.backtest_median_abs_error_pp IS 'Median absolute error of those projections against their final values, in percentage points.';
COMMENT ON COLUMN projection.backtest_max_abs_error_pp IS 'The largest of those errors, in percentage points.';
COMMENT ON COLUMN projection.reason IS 'Why it is or is not shown, in words.';
