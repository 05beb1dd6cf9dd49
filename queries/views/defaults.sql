-- defaults: small scalar macros the views use for their parameters' defaults and for rates.
-- One row: not a table. Parameters: as listed per macro.
--
--   configured_stuck_minutes()   the stuck threshold of the configuration, in minutes
--   latest_data_time()           the newest complete snapshot time in the warehouse (the default
--                                as-of time: never the wall clock)
--   ratio(num, den)              num / den as a fraction, NULL when den is 0: every rate and share
--                                of the reports (a rate over zero is "n/a", never 0 or an error)
--   stored_zone(tz)              true when tz is NULL or the configured zone: the daily tables the
--                                build keeps are in that zone, another one is computed
--   day_or_latest(d, z)          d as a DATE, or when NULL the local day (in zone z, or the
--                                configured zone when z is NULL) of latest_data_time(): the
--                                default day of every per-day macro
-- depends: formulas/params.sql
CREATE OR REPLACE MACRO configured_stuck_minutes() AS
    (SELECT CAST(value AS DOUBLE) FROM settings WHERE key = 'stuck_after_minutes');

CREATE OR REPLACE MACRO latest_data_time() AS
    (SELECT max(snapshot_time) FROM snapshot_log WHERE complete);

CREATE OR REPLACE MACRO stored_zone(tz) AS
    coalesce(tz, configured_timezone()) = configured_timezone();

CREATE OR REPLACE MACRO day_or_latest(d, z) AS
    coalesce(CAST(d AS DATE), local_day(latest_data_time(), coalesce(z, configured_timezone())));

CREATE OR REPLACE MACRO ratio(num, den) AS
    CASE WHEN den > 0 THEN CAST(num AS DOUBLE) / den END;

COMMENT ON MACRO latest_data_time IS 'The newest complete snapshot time: the default as-of time.';
COMMENT ON MACRO ratio IS 'ratio(num, den): num / den, NULL when den is 0 (a rate over zero is n/a).';
