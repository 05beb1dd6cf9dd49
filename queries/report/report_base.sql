-- report_base: campaign_daily, or a table of its rows made once for a whole report.
-- One row = one campaign on one local day with a complete snapshot (as campaign_daily).
-- Grain: campaign_id, day. Parameters: tz (default the configured one), daily (the name of a
-- table holding SELECT * FROM campaign_daily(tz := tz); default NULL: compute campaign_daily).
--
-- The report macros read campaign_daily through this one, so that a report can compute it once
-- (CREATE TEMP TABLE t AS SELECT * FROM campaign_daily(tz := ...)) and pass daily := 't' to all
-- of them, instead of computing it again in each.
-- depends: views/campaign_daily.sql, formulas/params.sql
CREATE OR REPLACE MACRO report_base(tz := NULL, daily := NULL) AS TABLE
SELECT * FROM campaign_daily(tz := coalesce(tz, configured_timezone())) WHERE daily IS NULL
UNION ALL BY NAME
SELECT * FROM query_table(coalesce(daily, 'campaign_daily')) WHERE daily IS NOT NULL;

COMMENT ON MACRO TABLE report_base IS 'report_base(tz, daily := NULL): campaign_daily(tz), or the rows of the table named by daily (made from it once per report).';
