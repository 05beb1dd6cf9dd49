-- runs: the scheduler's run log. One row = one finished run of one job (ok, failed, or abandoned
-- on shutdown). Grain: run_id. Parameters: none.
--
-- The source is <data_dir>/logs/runs.jsonl, one line per run, written by `campaign-reports
-- schedule` and `campaign-reports run` when a run ends (a run still going, or cut off by a crash,
-- has no row). The build loads it into the table run_log (pipeline.runlog.load_into_duckdb), so
-- the view shows the runs up to the start of the latest build. Times are UTC instants.
--
-- Examples: the failed exports of the last day
--   SELECT job, started, error FROM runs
--   WHERE kind = 'export' AND status = 'failed' AND started > TIMESTAMPTZ '2026-11-27 06:00:00+01';
-- the report days rendered, and when
--   SELECT report_day, max(ended) FROM runs WHERE kind = 'report' AND status = 'ok' GROUP BY ALL;
CREATE TABLE IF NOT EXISTS run_log (
    run_id VARCHAR,
    job VARCHAR,
    kind VARCHAR,
    interval_key VARCHAR,
    report_day DATE,
    scheduled_for TIMESTAMPTZ,
    started TIMESTAMPTZ,
    ended TIMESTAMPTZ,
    duration_s DOUBLE,
    status VARCHAR,
    "rows" BIGINT,
    snapshots BIGINT,
    error VARCHAR,
    reason VARCHAR,
    attempt INTEGER,
    missed INTEGER,
    missed_since TIMESTAMPTZ,
    triggered_by VARCHAR,
    pid BIGINT
);

CREATE OR REPLACE VIEW runs AS
SELECT
    run_id,
    job,
    kind,
    status,
    scheduled_for,
    started,
    ended,
    duration_s,
    report_day,
    "rows",
    snapshots,
    error,
    reason,
    attempt,
    missed,
    missed_since,
    interval_key,
    triggered_by
FROM run_log;

COMMENT ON VIEW runs IS 'The scheduler''s run log: one row per finished run of a job (ok, failed or abandoned). Source: logs/runs.jsonl.';
COMMENT ON COLUMN runs.run_id IS 'Random id of the run.';
COMMENT ON COLUMN runs.job IS 'The job''s name in the config ([[jobs]] name; default: its kind).';
COMMENT ON COLUMN runs.kind IS 'ingest, export, build, report or retention.';
COMMENT ON COLUMN runs.status IS 'ok; failed (error says why; retried later); abandoned (stopped on shutdown; nothing of it was published; due again at once).';
COMMENT ON COLUMN runs.scheduled_for IS 'The cron fire time this run was for (may be long before started, when catching up).';
COMMENT ON COLUMN runs.started IS 'When the run started.';
COMMENT ON COLUMN runs.ended IS 'When the run ended.';
COMMENT ON COLUMN runs.duration_s IS 'ended - started, in seconds.';
COMMENT ON COLUMN runs.report_day IS 'report runs: the day the report is for (in the configured time zone); NULL for other kinds.';
COMMENT ON COLUMN runs."rows" IS 'Rows written: contact rows loaded (ingest, export), 0 where it does not apply.';
COMMENT ON COLUMN runs.snapshots IS 'Snapshots published (ingest, export) or processed (build).';
COMMENT ON COLUMN runs.error IS 'The error message of a failed run; NULL otherwise.';
COMMENT ON COLUMN runs.reason IS 'scheduled (on time), catch-up (for a fire time missed while nothing ran) or retry (after a failure).';
COMMENT ON COLUMN runs.attempt IS '1 for the first try of this interval, 2 and up for retries.';
COMMENT ON COLUMN runs.missed IS 'For jobs that catch up once (export, ingest, build, retention): how many earlier fire times this run stood in for.';
COMMENT ON COLUMN runs.missed_since IS 'The first of those missed fire times.';
COMMENT ON COLUMN runs.interval_key IS 'What the run was for: the report day, or the fire time (ISO UTC).';
COMMENT ON COLUMN runs.triggered_by IS 'schedule (the long-running scheduler) or run (one pass of campaign-reports run).';

-- run_problems(day): what went wrong or was missed since the previous report, for the report of
-- `day`. One row = one failed run, or one run that caught up missed fire times (missed > 0),
-- that ended after the last successful report of an earlier day was rendered (all of them if
-- there is none). Grain: run_id. Parameters: day (DATE or 'YYYY-MM-DD').
-- When several missed days are rendered in one catch-up, the first of them lists the problems.
CREATE OR REPLACE MACRO run_problems(day) AS TABLE
WITH previous AS (
    SELECT max(ended) AS rendered
    FROM run_log
    WHERE kind = 'report' AND status = 'ok' AND report_day < CAST(day AS DATE)
)
SELECT
    r.job,
    r.kind,
    CASE WHEN r.status = 'failed' THEN 'failed' ELSE 'caught up' END AS problem,
    r.scheduled_for,
    r.started,
    r.ended,
    r.attempt,
    r.missed,
    r.missed_since,
    r.error
FROM run_log AS r, previous AS p
WHERE (r.status = 'failed' OR (r.status = 'ok' AND r.missed > 0))
    AND (p.rendered IS NULL OR r.ended > p.rendered)
ORDER BY r.started;

COMMENT ON MACRO TABLE run_problems IS 'run_problems(day): failed runs, and runs that caught up missed fire times, since the report before `day` was rendered. Filter kind = ''export'' for failed exports.';
