-- campaign_age: every campaign's funnel rates against its age (hours since its start), and the
-- tenant's median curve at each age, to put campaigns side by side whatever day they started.
-- One row of campaign_age = one complete snapshot of one campaign. Grain: snapshot_id.
-- One row of campaign_age_median = one age bucket. Grain: age_bucket_hours.
-- Parameters: as_of (TIMESTAMPTZ; default latest_data_time()): only snapshots at or before it.
--
-- start_time: the campaign's start. It is the mluvii API's `started` time (table campaigns, from
-- the exporter) when the API gave one at or before the first complete snapshot (start_source
-- 'api'); otherwise the time of the campaign's first complete snapshot ('first_snapshot'),
-- which is all files tell. age_hours = hours from start_time to the snapshot.
-- reached_sent, reached_delivered, reached_read: the funnel EVER at the snapshot, exactly as
-- funnel(as_of := snapshot_time) counts it: the contacts listed in the snapshot, each at the
-- furthest stage it reached up to then (contact_milestones). The build counts them once per
-- snapshot into the table snapshot_reached (formula: reached_of in formulas/reached.sql), so the
-- view reads one row per snapshot, not the history.
-- read_of_sent = reached_read / reached_sent, delivered_of_sent = reached_delivered /
-- reached_sent (the delivery rate); NULL when reached_sent is 0.
--
-- Age buckets (age_bucket(hours) gives a bucket's first hour): hourly up to 48 h ([0, 1) ..
-- [47, 48)), then 6-hourly up to 7 days ([48, 54) .. [162, 168)), then daily ([168, 192) ..).
-- A campaign's value in a bucket is that of its last snapshot in the bucket (last_in_bucket),
-- so a campaign exported hourly weighs no more than one exported daily.
-- campaign_age_median: per bucket, the median over campaigns (of their last_in_bucket values)
-- of read_of_sent and delivered_of_sent, and how many campaigns each median stands on (a
-- campaign whose rate is NULL there does not count).
-- campaign_age_upto(ages, as_of) gives campaign_age(as_of) from a table of the view's rows made
-- once (as_of only cuts rows and moves last_in_bucket: the start and the counts of a snapshot do
-- not depend on it), so that a report of many days reads them once (parameter ages of
-- campaign_age_median, report_by_age, projection).
-- depends: views/defaults.sql, formulas/params.sql
CREATE OR REPLACE MACRO age_bucket(hours) AS
    CASE
        WHEN hours < 48 THEN floor(hours)
        WHEN hours < 168 THEN 48 + 6 * floor((hours - 48) / 6)
        ELSE 168 + 24 * floor((hours - 168) / 24)
    END;

COMMENT ON MACRO age_bucket IS 'age_bucket(hours): the first hour of the age bucket: hourly below 48 h, 6-hourly below 168 h (7 days), then daily.';

CREATE OR REPLACE MACRO campaign_age(as_of := NULL) AS TABLE
WITH snaps AS (
    SELECT campaign_id, snapshot_id, snapshot_time, contacts
    FROM snapshot_log
    WHERE complete AND snapshot_time <= coalesce(CAST(as_of AS TIMESTAMPTZ), latest_data_time())
),
starts AS (
    SELECT
        s.campaign_id,
        CASE WHEN c.started <= min(s.snapshot_time) THEN c.started ELSE min(s.snapshot_time) END
            AS start_time,
        CASE WHEN c.started <= min(s.snapshot_time) THEN 'api' ELSE 'first_snapshot' END
            AS start_source
    FROM snaps AS s
    LEFT JOIN campaigns AS c ON c.campaign_id = s.campaign_id
    GROUP BY s.campaign_id, c.started
),
counted AS (
    -- the funnel ever at each snapshot, kept by the build (snapshot_reached = reached_of(
    -- 'state_history'): a snapshot's counts never change once it is counted)
    SELECT
        s.campaign_id,
        s.snapshot_id,
        s.snapshot_time,
        s.contacts,
        r.reached_sent,
        r.reached_delivered,
        r.reached_read
    FROM snaps AS s
    LEFT JOIN snapshot_reached AS r USING (snapshot_id)
),
aged AS (
    SELECT
        c.*,
        st.start_time,
        st.start_source,
        seconds_between(st.start_time, c.snapshot_time) / 3600.0 AS age_hours
    FROM counted AS c
    JOIN starts AS st USING (campaign_id)
)
SELECT
    campaign_id,
    snapshot_id,
    snapshot_time,
    start_time,
    start_source,
    age_hours,
    CAST(age_bucket(age_hours) AS INTEGER) AS age_bucket_hours,
    snapshot_time = max(snapshot_time) OVER (
        PARTITION BY campaign_id, age_bucket(age_hours)
    ) AS last_in_bucket,
    contacts,
    reached_sent,
    reached_delivered,
    reached_read,
    ratio(reached_read, reached_sent) AS read_of_sent,
    ratio(reached_delivered, reached_sent) AS delivered_of_sent
FROM aged;

COMMENT ON MACRO TABLE campaign_age IS 'campaign_age(as_of := latest): per campaign and complete snapshot, hours since the campaign''s start and the funnel ever (reached_*, read_of_sent, delivered_of_sent) at that snapshot.';

CREATE OR REPLACE VIEW campaign_age AS SELECT * FROM campaign_age();
COMMENT ON VIEW campaign_age IS 'Per campaign and complete snapshot: hours since the campaign started, and its read of sent and delivered of sent then (funnel ever). Up to a time: SELECT * FROM campaign_age(TIMESTAMPTZ ''2026-11-28 06:00:00+01'').';
COMMENT ON COLUMN campaign_age.campaign_id IS 'The campaign.';
COMMENT ON COLUMN campaign_age.snapshot_id IS 'The complete snapshot.';
COMMENT ON COLUMN campaign_age.snapshot_time IS 'Its time (UTC instant).';
COMMENT ON COLUMN campaign_age.start_time IS 'The campaign''s start: the API''s started time if at or before its first complete snapshot, else that snapshot''s time.';
COMMENT ON COLUMN campaign_age.start_source IS 'api (campaigns.started from the mluvii API) or first_snapshot.';
COMMENT ON COLUMN campaign_age.age_hours IS 'Hours from start_time to the snapshot.';
COMMENT ON COLUMN campaign_age.age_bucket_hours IS 'First hour of the age bucket: hourly below 48 h, 6-hourly below 168 h, then daily.';
COMMENT ON COLUMN campaign_age.last_in_bucket IS 'True for the campaign''s last snapshot in the bucket: the one its curve and the median use.';
COMMENT ON COLUMN campaign_age.contacts IS 'Contacts in the snapshot.';
COMMENT ON COLUMN campaign_age.reached_sent IS 'Funnel ever: contacts of the snapshot that reached Sent up to then (as funnel(as_of)).';
COMMENT ON COLUMN campaign_age.reached_delivered IS 'Contacts of the snapshot that reached Delivered up to then.';
COMMENT ON COLUMN campaign_age.reached_read IS 'Contacts of the snapshot that reached Read up to then.';
COMMENT ON COLUMN campaign_age.read_of_sent IS 'reached_read / reached_sent; NULL if reached_sent = 0.';
COMMENT ON COLUMN campaign_age.delivered_of_sent IS 'reached_delivered / reached_sent (the delivery rate); NULL if reached_sent = 0.';

CREATE OR REPLACE MACRO campaign_age_upto(ages, as_of) AS TABLE
SELECT
    * EXCLUDE (last_in_bucket),
    snapshot_time = max(snapshot_time) OVER (
        PARTITION BY campaign_id, age_bucket_hours
    ) AS last_in_bucket
FROM query_table(ages)
WHERE snapshot_time <= coalesce(CAST(as_of AS TIMESTAMPTZ), latest_data_time());

COMMENT ON MACRO TABLE campaign_age_upto IS 'campaign_age_upto(ages, as_of): the rows of the named table of campaign_age rows (e.g. a copy of the view made once) up to as_of, with last_in_bucket as of then: the same as campaign_age(as_of).';

CREATE OR REPLACE MACRO campaign_age_median(as_of := NULL, ages := NULL) AS TABLE
SELECT
    age_bucket_hours,
    median(read_of_sent) AS median_read_of_sent,
    count(read_of_sent) AS read_campaigns,
    median(delivered_of_sent) AS median_delivered_of_sent,
    count(delivered_of_sent) AS delivered_campaigns
FROM campaign_age_upto(coalesce(ages, 'campaign_age'), as_of)
WHERE last_in_bucket
GROUP BY age_bucket_hours;

COMMENT ON MACRO TABLE campaign_age_median IS 'campaign_age_median(as_of := latest, ages := NULL): per age bucket, the tenant''s median read of sent and delivered of sent over campaigns (each campaign''s last snapshot in the bucket up to as_of), with the number of campaigns behind each. ages: the name of a table holding SELECT * FROM campaign_age (default the view itself).';
CREATE OR REPLACE VIEW campaign_age_median AS SELECT * FROM campaign_age_median();
COMMENT ON VIEW campaign_age_median IS 'The tenant''s median curve by age: per age bucket, the median read of sent and delivered of sent of the campaigns at that age, and how many campaigns each stands on.';
COMMENT ON COLUMN campaign_age_median.age_bucket_hours IS 'First hour of the age bucket (hourly below 48 h, 6-hourly below 168 h, then daily).';
COMMENT ON COLUMN campaign_age_median.median_read_of_sent IS 'Median over campaigns of read_of_sent at their last snapshot in the bucket.';
COMMENT ON COLUMN campaign_age_median.read_campaigns IS 'Campaigns behind that median (those with a read_of_sent there).';
COMMENT ON COLUMN campaign_age_median.median_delivered_of_sent IS 'Median over campaigns of delivered_of_sent at their last snapshot in the bucket.';
COMMENT ON COLUMN campaign_age_median.delivered_campaigns IS 'Campaigns behind that median.';
