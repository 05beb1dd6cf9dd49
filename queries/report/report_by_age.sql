-- report_by_age: the curves by age a daily report draws (campaigns side by side, the tenant's
-- median beside each campaign), as at the end of the report day.
-- report_by_age: one row = one campaign and age bucket, its last snapshot in the bucket up to
-- the day's end (campaign_age). Grain: campaign_id, age_bucket_hours.
-- report_age_median: one row = one age bucket (campaign_age_median as at the day's end).
-- Parameters: report_day (DATE), tz (default the configured one), ages (the name of a table
-- holding SELECT * FROM campaign_age, made once per report; default the view).
-- start_day: the local day of the campaign's start (the campaign page's time axis starts there).
-- depends: views/campaign_age.sql, formulas/params.sql
CREATE OR REPLACE MACRO report_by_age(report_day, tz := NULL, ages := NULL) AS TABLE
SELECT
    campaign_id,
    start_time,
    start_source,
    local_day(start_time, coalesce(tz, configured_timezone())) AS start_day,
    age_bucket_hours,
    age_hours,
    snapshot_time,
    reached_sent,
    reached_delivered,
    reached_read,
    read_of_sent,
    delivered_of_sent
FROM campaign_age_upto(
    coalesce(ages, 'campaign_age'),
    day_start(CAST(report_day AS DATE) + 1, coalesce(tz, configured_timezone()))
        - INTERVAL 1 MICROSECOND
)
WHERE last_in_bucket
ORDER BY campaign_id, age_bucket_hours;

COMMENT ON MACRO TABLE report_by_age IS 'report_by_age(report_day, tz): per campaign and age bucket, its last snapshot in the bucket up to the end of the day (campaign_age).';

CREATE OR REPLACE MACRO report_age_median(report_day, tz := NULL, ages := NULL) AS TABLE
SELECT *
FROM campaign_age_median(
    as_of := day_start(CAST(report_day AS DATE) + 1, coalesce(tz, configured_timezone()))
        - INTERVAL 1 MICROSECOND,
    ages := ages
)
ORDER BY age_bucket_hours;

COMMENT ON MACRO TABLE report_age_median IS 'report_age_median(report_day, tz): the tenant''s median curve by age as at the end of the day (campaign_age_median).';
