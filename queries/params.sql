-- params: small scalar macros the other views use for their parameters' defaults and for days.
-- One row: not a table. Parameters: as listed per macro.
--
--   configured_timezone()        the time zone of the build's configuration (settings table)
--   configured_stuck_minutes()   the stuck threshold of the configuration, in minutes
--   latest_data_time()           the newest complete snapshot time in the warehouse (the default
--                                as-of time: never the wall clock)
--   local_day(ts, tz)            the calendar day of instant ts in time zone tz
--   day_start(day, tz)           the instant local day `day` starts in time zone tz (DST-aware:
--                                a day is 23, 24 or 25 hours long)
--   ratio(num, den)              num / den as a fraction, NULL when den is 0: every rate and share
--                                of the reports (a rate over zero is "n/a", never 0 or an error)
--   stored_zone(tz)              true when tz is NULL or the configured zone: the daily tables the
--                                build keeps are in that zone, another one is computed
CREATE OR REPLACE MACRO configured_timezone() AS
    (SELECT value FROM settings WHERE key = 'timezone');

CREATE OR REPLACE MACRO configured_stuck_minutes() AS
    (SELECT CAST(value AS DOUBLE) FROM settings WHERE key = 'stuck_after_minutes');

CREATE OR REPLACE MACRO latest_data_time() AS
    (SELECT max(snapshot_time) FROM snapshot_log WHERE complete);

CREATE OR REPLACE MACRO local_day(ts, tz) AS
    CAST(timezone(tz, ts) AS DATE);

CREATE OR REPLACE MACRO day_start(day, tz) AS
    timezone(tz, CAST(CAST(day AS DATE) AS TIMESTAMP));

CREATE OR REPLACE MACRO stored_zone(tz) AS
    coalesce(tz, configured_timezone()) = configured_timezone();

CREATE OR REPLACE MACRO ratio(num, den) AS
    CASE WHEN den > 0 THEN CAST(num AS DOUBLE) / den END;

COMMENT ON MACRO configured_timezone IS 'The configured time zone (days in reports are days there).';
COMMENT ON MACRO latest_data_time IS 'The newest complete snapshot time: the default as-of time.';
COMMENT ON MACRO local_day IS 'local_day(ts, tz): the calendar day of instant ts in time zone tz.';
COMMENT ON MACRO day_start IS 'day_start(day, tz): the instant local day starts in time zone tz.';
COMMENT ON MACRO ratio IS 'ratio(num, den): num / den, NULL when den is 0 (a rate over zero is n/a).';
