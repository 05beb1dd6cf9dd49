-- report_base: campaign_daily, or a table of its rows made once for a whole report.
-- One row = one campaign on one local day with a complete snapshot (as campaign_daily).
-- Grain: campaign_id, day. Parameters: tz (default the configured one), daily (the name of a
-- table holding SELECT * FROM campaign_daily(tz := tz); default NULL: compute campaign_daily).
--
-- The report macros read campaign_daily through this one, so that a report can compute it once
-- (CREATE TEMP TABLE t AS SELECT * FROM campaign_daily(tz := ...)) and pass daily := 't' to all
-- of them, instead of computing it again in each.
-- depends: views/campaign_daily.sql, formulas/params.sql
-- daily given: the rows of its table, and computed (never referenced) is not even bound; NULL:
-- query_table reads the CTE computed, which DuckDB inlines (NOT MATERIALIZED).
CREATE OR REPLACE MACRO report_base(tz := NULL, daily := NULL) AS TABLE
WITH computed AS NOT MATERIALIZED (
    SELECT * FROM campaign_daily(tz := coalesce(tz, configured_timezone()))
)
SELECT * FROM query_table(coalesce(daily, 'computed'));

COMMENT ON MACRO TABLE report_base IS 'report_base(tz, daily := NULL): campaign_daily(tz), or the rows of the table named by daily (made from it once per report).';
