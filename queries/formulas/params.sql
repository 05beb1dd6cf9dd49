-- params: small scalar macros for days, which the formulas and the build steps use.
-- One row: not a table. Parameters: as listed per macro.
--
--   configured_timezone()        the time zone of the build's configuration (settings table)
--   local_day(ts, tz)            the calendar day of instant ts in time zone tz
--   day_start(day, tz)           the instant local day `day` starts in time zone tz (DST-aware:
--                                a day is 23, 24 or 25 hours long)
--   seconds_between(a, b)        whole seconds from instant a to instant b: the second
--                                boundaries crossed, as date_diff('second', a, b) counts them
--                                (10:00:00.9 to 10:00:01.1 is 1), from the instants' microseconds
--                                since 1970 (date_diff on TIMESTAMPTZ works through the session's
--                                calendar and costs ten times more); for instants after 1970
-- The defaults the views use (as-of time, stuck threshold, rates) are in views/defaults.sql.
CREATE OR REPLACE MACRO configured_timezone() AS
    (SELECT value FROM settings WHERE key = 'timezone');

CREATE OR REPLACE MACRO local_day(ts, tz) AS
    CAST(timezone(tz, ts) AS DATE);

CREATE OR REPLACE MACRO day_start(day, tz) AS
    timezone(tz, CAST(CAST(day AS DATE) AS TIMESTAMP));

CREATE OR REPLACE MACRO seconds_between(a, b) AS
    epoch_us(b) // 1000000 - epoch_us(a) // 1000000;

COMMENT ON MACRO configured_timezone IS 'The configured time zone (days in reports are days there).';
COMMENT ON MACRO local_day IS 'local_day(ts, tz): the calendar day of instant ts in time zone tz.';
COMMENT ON MACRO day_start IS 'day_start(day, tz): the instant local day starts in time zone tz.';
COMMENT ON MACRO seconds_between IS 'seconds_between(a, b): whole seconds from instant a to instant b (the second boundaries crossed, as date_diff(''second'', a, b); instants after 1970).';
