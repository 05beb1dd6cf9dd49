-- campaign_lifecycle: where each campaign stands in its life at the end of a local day.
-- One row = one campaign with a complete snapshot before the end of the day. Grain: campaign_id.
-- Parameters: day (DATE or 'YYYY-MM-DD'; default the local day of latest_data_time()), tz (IANA
-- time zone; default the configured one), finished_after_hours and stale_after_hours (default the
-- configuration's [report] settings, 72 and 26).
--
-- Everything is judged at the end of the day (as report_freshness), from the campaign's complete
-- snapshots up to then, in this order (the first rule that holds):
--   canceled  its last snapshot has contacts in Canceled by admin and none left to send (none
--             Initial, In progress or Retry scheduled). The vendor's text for that state is
--             "status after the end of the current campaign by the administrator": the admin
--             ended the campaign and the contacts still open were canceled. Final.
--   finished  the API's `finished` time (table campaigns, from the exporter or from
--             `ingest --finished`) is set and not after the day's end; or no contact's state
--             changed (no new interval, none ended) for at least finished_after_hours before its
--             last snapshot, i.e. snapshots kept coming and showed nothing new. Final.
--   stale     known to be running (the API says it started, or its snapshots come from the
--             API) and no complete snapshot for longer than stale_after_hours at the day's end:
--             a real gap in the data. Its numbers are not the day's.
--   running   the API says it started (campaigns.started) or its snapshots come from the API.
--   unknown   fed by files only, and nothing says whether it is running or has ended (files
--             carry no lifecycle: `ingest --finished` says it ended); the reason gives the hours
--             since its last snapshot when they are more than stale_after_hours.
-- final = canceled or finished: its last numbers are its final numbers, counted in the day's
-- totals for ever after (report_campaigns, report_totals).
-- depends: formulas/params.sql, views/defaults.sql
CREATE OR REPLACE MACRO campaign_lifecycle(
    day := NULL, tz := NULL, finished_after_hours := NULL, stale_after_hours := NULL
) AS TABLE
WITH p AS (
    SELECT
        zone,
        d,
        day_start(d + 1, zone) AS d_end,
        coalesce(
            CAST(finished_after_hours AS DOUBLE),
            (SELECT CAST(value AS DOUBLE) FROM settings WHERE key = 'finished_after_hours'),
            72
        ) AS quiet_hours,
        coalesce(
            CAST(stale_after_hours AS DOUBLE),
            (SELECT CAST(value AS DOUBLE) FROM settings WHERE key = 'stale_after_hours'),
            26
        ) AS gap_hours
    FROM (
        SELECT
            coalesce(tz, configured_timezone()) AS zone,
            day_or_latest(day, tz) AS d
    )
),
snaps AS (
    SELECT
        s.campaign_id,
        min(s.snapshot_time) AS first_snapshot_time,
        max(s.snapshot_time) AS last_snapshot_time,
        bool_or(s.source = 'api') AS from_api
    FROM snapshot_log AS s, p
    WHERE s.complete AND s.snapshot_time < p.d_end
    GROUP BY s.campaign_id
),
changes AS (
    -- the last change of any contact's state (an interval starting, or one ending: a contact
    -- that vanished): the last snapshot before the day's end at which one did (snapshot_states)
    SELECT st.campaign_id, max(st.snapshot_time) AS last_change
    FROM snapshot_states AS st, p
    WHERE st.snapshot_time < p.d_end AND st.changed > 0
    GROUP BY st.campaign_id
),
last_counts AS (
    -- the states of the contacts listed in the campaign's last snapshot before the day's end
    SELECT
        st.campaign_id,
        st.canceled_by_admin,
        st.initial + st.in_progress + st.retry_scheduled AS open_contacts
    FROM snapshot_states AS st
    JOIN snaps AS s
        ON s.campaign_id = st.campaign_id AND st.snapshot_time = s.last_snapshot_time
),
judged AS (
    SELECT
        s.*,
        p.d,
        p.d_end,
        p.quiet_hours,
        p.gap_hours,
        c.started AS api_started,
        c.finished AS api_finished,
        c.finished_from,
        coalesce(g.last_change, s.first_snapshot_time) AS last_change,
        seconds_between(s.last_snapshot_time, p.d_end) / 3600.0 AS hours_since,
        coalesce(l.canceled_by_admin, 0) AS canceled_by_admin,
        coalesce(l.open_contacts, 0) AS open_contacts
    FROM snaps AS s
    CROSS JOIN p
    LEFT JOIN campaigns AS c ON c.campaign_id = s.campaign_id
    LEFT JOIN changes AS g ON g.campaign_id = s.campaign_id
    LEFT JOIN last_counts AS l ON l.campaign_id = s.campaign_id
),
ruled AS (
    SELECT
        *,
        CASE
            WHEN canceled_by_admin > 0 AND open_contacts = 0 THEN 'canceled'
            WHEN api_finished <= d_end THEN 'finished'
            WHEN seconds_between(last_change, last_snapshot_time) >= quiet_hours * 3600
                THEN 'finished'
            WHEN (api_started <= d_end OR from_api) AND hours_since > gap_hours THEN 'stale'
            WHEN api_started <= d_end OR from_api THEN 'running'
            ELSE 'unknown'
        END AS lifecycle
    FROM judged
)
SELECT
    d AS day,
    campaign_id,
    lifecycle,
    lifecycle IN ('finished', 'canceled') AS final,
    CASE lifecycle
        WHEN 'canceled' THEN
            canceled_by_admin || ' contact(s) Canceled by admin and none left to send'
        WHEN 'finished' THEN CASE
            WHEN api_finished <= d_end AND finished_from = 'ingest'
                THEN 'marked finished when its files were loaded (ingest --finished or a _final file)'
            WHEN api_finished <= d_end THEN 'finished according to the mluvii API'
            ELSE 'no contact changed state for '
                || CAST(round(seconds_between(last_change, last_snapshot_time) / 3600.0, 1)
                    AS VARCHAR)
                || ' h before its last snapshot (at least ' || CAST(quiet_hours AS VARCHAR)
                || ' h)'
            END
        WHEN 'stale' THEN 'no snapshot for ' || CAST(round(hours_since, 1) AS VARCHAR)
            || ' h (more than ' || CAST(gap_hours AS VARCHAR) || ' h)'
        WHEN 'running' THEN 'started, not finished, snapshots up to date'
        ELSE 'loaded from files, which do not say whether the campaign has ended'
            || CASE
                WHEN hours_since > gap_hours
                    THEN '; no snapshot for ' || CAST(round(hours_since, 1) AS VARCHAR) || ' h'
                ELSE ''
            END
    END AS reason,
    last_snapshot_time,
    round(hours_since, 1) AS hours_since_snapshot,
    last_change,
    api_started,
    api_finished
FROM ruled;

COMMENT ON MACRO TABLE campaign_lifecycle IS 'campaign_lifecycle(day := latest day, tz := configured, finished_after_hours, stale_after_hours): per campaign at the end of the local day: running, finished, canceled (final: counted in totals with their last numbers), stale (no snapshot for longer than stale_after_hours) or unknown (files only; nothing says).';

CREATE OR REPLACE VIEW campaign_lifecycle AS SELECT * FROM campaign_lifecycle();
COMMENT ON VIEW campaign_lifecycle IS 'Each campaign''s lifecycle at the end of the latest day (configured settings). Another day: SELECT * FROM campaign_lifecycle(DATE ''2026-11-27'').';
COMMENT ON COLUMN campaign_lifecycle.day IS 'The local day at whose end the campaign is judged.';
COMMENT ON COLUMN campaign_lifecycle.campaign_id IS 'The campaign.';
COMMENT ON COLUMN campaign_lifecycle.lifecycle IS 'running, finished, canceled (by its admin), stale (running, but no snapshot for longer than [report] stale_after_hours) or unknown (files only, nothing says).';
COMMENT ON COLUMN campaign_lifecycle.final IS 'True for finished and canceled: the last numbers are the final ones, kept in the day''s totals.';
COMMENT ON COLUMN campaign_lifecycle.reason IS 'Why, in words.';
COMMENT ON COLUMN campaign_lifecycle.last_snapshot_time IS 'The latest complete snapshot before the day''s end (UTC instant).';
COMMENT ON COLUMN campaign_lifecycle.hours_since_snapshot IS 'Hours from that snapshot to the day''s end, to 0.1 h.';
COMMENT ON COLUMN campaign_lifecycle.last_change IS 'When a contact''s state last changed (or a contact appeared or vanished), up to that snapshot.';
COMMENT ON COLUMN campaign_lifecycle.api_started IS 'The campaign''s start according to the mluvii API (NULL: not known).';
COMMENT ON COLUMN campaign_lifecycle.api_finished IS 'The campaign''s end according to the mluvii API or ingest --finished (NULL: not known).';
