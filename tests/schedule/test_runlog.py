"""The run log (logs/runs.jsonl), the runs view, the [schedule]/[[jobs]] config and `status`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from schedule_helpers import ROOT, FakeClock, Recorder, config, job, scheduler, utc

from pipeline.cli.main import cli
from pipeline.core.config import load_config
from pipeline.core.errors import ConfigError
from pipeline.schedule.jobs import DEFAULT_JOBS, configured_jobs
from pipeline.store.runlog import RunLog, RunRecord, load_into_duckdb, runs_frame


def record(**kw: object) -> RunRecord:
    base: dict[str, object] = {
        "job": "export",
        "kind": "export",
        "key": "2026-11-28T09:00:00Z",
        "scheduled_for": "2026-11-28T09:00:00Z",
        "started": "2026-11-28T09:00:01.250Z",
        "ended": "2026-11-28T09:00:04.750Z",
        "status": "ok",
        "rows": 1200,
        "snapshots": 3,
    }
    base.update(kw)
    return RunRecord(**base)  # type: ignore[arg-type]


def test_append_and_read_back(data_dir):
    log = RunLog(data_dir)
    assert log.records() == []
    log.append(record())
    log.append(
        record(
            status="failed",
            error="API down",
            kind="report",
            job="report",
            key="2026-11-27",
            day="2026-11-27",
        )
    )
    again = RunLog(data_dir).records()
    assert [r.status for r in again] == ["ok", "failed"]
    assert again[0].duration_s == 3.5
    line = json.loads((data_dir / "logs" / "runs.jsonl").read_text().splitlines()[0])
    assert line["v"] == 1 and line["duration_s"] == 3.5 and line["rows"] == 1200
    # the same object reads only what was appended since
    log.append(record(key="2026-11-28T10:00:00Z"))
    assert len(log.records()) == 3


def test_a_torn_last_line_is_ignored_then_cut_off_and_a_damaged_line_skipped(data_dir):
    log = RunLog(data_dir)
    log.append(record())
    path = data_dir / "logs" / "runs.jsonl"
    with open(path, "ab") as fh:
        fh.write(b'{"v":1,"job":"exp')  # a crash while appending
    assert len(RunLog(data_dir).records()) == 1
    writer = RunLog(data_dir)
    writer.append(record(key="b"))
    assert [r.key for r in RunLog(data_dir).records()] == ["2026-11-28T09:00:00Z", "b"]
    assert path.read_bytes().endswith(b"\n")
    with open(path, "ab") as fh:
        fh.write(b"not json\n")
    writer.append(record(key="c"))
    reader = RunLog(data_dir)
    assert [r.key for r in reader.records()] == ["2026-11-28T09:00:00Z", "b", "c"]
    assert reader.damaged == 1


def test_failures_since_and_last_ok(data_dir):
    log = RunLog(data_dir)
    log.append(record(status="failed", error="timeout", ended="2026-11-27T10:00:00Z"))
    log.append(record(kind="report", job="report", ended="2026-11-28T05:01:00Z"))
    log.append(record(status="failed", error="429", ended="2026-11-28T07:00:00Z"))
    last_report = log.last_ok("report")
    assert last_report is not None
    since = [r.error for r in log.failures_since(utc(2026, 11, 28, 5, 1), ["export"])]
    assert since == ["429"]
    assert len(log.failures_since(None)) == 2


def test_the_runs_view_reads_the_loaded_log():
    con = duckdb.connect()
    con.execute((ROOT / "queries" / "views" / "runs.sql").read_text())
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # works empty


def test_load_into_duckdb_and_query_runs(data_dir):
    log = RunLog(data_dir)
    log.append(record())
    log.append(
        record(
            kind="report",
            job="report",
            key="2026-11-27",
            day="2026-11-27",
            status="failed",
            error="no warehouse",
            attempt=2,
            reason="retry",
        )
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute((ROOT / "queries" / "views" / "runs.sql").read_text())
    assert load_into_duckdb(con, data_dir) == 2
    rows = con.execute(
        'SELECT job, status, report_day, duration_s, "rows", error, attempt, '
        "strftime(started, '%Y-%m-%d %H:%M:%S.%g') FROM runs ORDER BY started, job"
    ).fetchall()
    assert rows[0][:2] == ("export", "ok") and rows[0][3] == 3.5 and rows[0][4] == 1200
    assert rows[0][7] == "2026-11-28 09:00:01.250"
    assert rows[1][2].isoformat() == "2026-11-27" and rows[1][5] == "no warehouse"
    # loading again replaces the table (the view still works)
    log.append(record(key="x"))
    assert load_into_duckdb(con, data_dir) == 3
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (3,)


def test_runs_frame_types_on_an_empty_log():
    frame = runs_frame([])
    assert frame.height == 0 and "scheduled_for" in frame.columns


# ----------------------------------------------------------------------------------- config
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campaign-reports.toml"
    path.write_text(text)
    return path


def test_schedule_and_jobs_from_the_config_file(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            """
timezone = "Europe/Prague"
[schedule]
retry_minutes = 5
max_attempts = 4

[[jobs]]
kind = "export"
cron = "*/30 7-20 * * mon-fri"

[[jobs]]
name = "morning-report"
kind = "report"
cron = "30 6 * * *"
timezone = "Europe/Bratislava"

[[jobs]]
kind = "ingest"
cron = "*/5 * * * *"
inbox = "/srv/drop"
enabled = false
""",
        ),
        environ={"CAMPAIGN_REPORTS_SCHEDULE_CATCH_UP_DAYS": "10"},
    )
    assert cfg.schedule.retry_minutes == 5 and cfg.schedule.max_attempts == 4
    assert cfg.schedule.catch_up_days == 10  # environment beats the file
    assert [j.name for j in cfg.jobs] == ["export", "morning-report", "ingest"]
    jobs, left_out = configured_jobs(cfg)
    assert [j.name for j in jobs] == ["export", "morning-report"]  # ingest is disabled
    assert left_out == []
    assert jobs[1].tz.key == "Europe/Bratislava" and jobs[1].catch_up == "each"
    assert jobs[0].catch_up == "latest"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[jobs]]\nkind = "export"\ncron = "0 25 * * *"', "hour field '25'"),
        ('[[jobs]]\nkind = "exports"\ncron = "0 * * * *"', "kind 'exports' is not one of"),
        ('[[jobs]]\nkind = "report"', "cron is missing"),
        ('[[jobs]]\nkind = "report"\ncron = "@daily"\nwhen = 1', "unknown setting(s) ['when']"),
        (
            '[[jobs]]\nkind = "report"\ncron = "@daily"\n[[jobs]]\nkind = "report"\ncron = "@daily"',
            "used twice",
        ),
        ('[[jobs]]\nkind = "report"\ncron = "@daily"\ntimezone = "Mars/Base"', "Mars/Base"),
        ('[[jobs]]\nkind = "report"\ncron = "@daily"\ncatch_up = "all"', "catch_up 'all'"),
        ("[schedule]\nmax_attempts = 0", "max_attempts must be at least 1"),
        ("[schedule]\nevery = 1", "unknown [schedule] setting(s)"),
    ],
)
def test_config_mistakes_are_clear_errors(tmp_path, body, message):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, body), environ={})
    assert message in str(err.value)


def test_default_jobs_leave_out_what_cannot_run(data_dir):
    cfg = config(data_dir, jobs=())
    jobs, left_out = configured_jobs(cfg)
    names = [j.name for j in jobs]
    assert "export" not in names and dict(left_out)["export"].startswith("the API is not")
    assert {"ingest", "build", "report", "retention"} <= set(names)
    assert [j.name for j in DEFAULT_JOBS] == ["ingest", "export", "build", "report", "retention"]
    assert all(j.tz.key == "Europe/Prague" for j in jobs)


# ----------------------------------------------------------------------------------- status
def test_status_prints_last_runs_freshness_and_next_times(data_dir, tmp_path):
    from conftest import ingest

    csv = tmp_path / "campaign-77_20261128T080000Z.csv"
    csv.write_text("contact_id,state\n1,WA_READ\n2,WA_SENT\n")
    ingest(data_dir, csv)
    clock = FakeClock(utc(2026, 11, 28, 9, 10))
    rec = Recorder(clock)
    rec.failing = {"build"}
    scheduler(config(data_dir), clock, rec).run_due()
    cfg_file = write(
        tmp_path,
        '[[jobs]]\nkind = "export"\ncron = "0 * * * *"\n[[jobs]]\nkind = "build"\n'
        'cron = "30 * * * *"\n[[jobs]]\nkind = "report"\ncron = "0 6 * * *"\n',
    )
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(data_dir),
            "--config",
            str(cfg_file),
            "status",
            "--as-of",
            "2026-11-28T10:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Scheduler: not running" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "ok" in lines["export"] and "2026-11-28 12:00 CET" in lines["export"]  # next run
    assert "failed" in lines["build"]
    assert "2026-11-29 06:00 CET" in lines["report"]
    assert "last failure: build" in out and "build failed (test)" in out
    assert "due now: build (build): attempt 2" not in out  # not before the retry time
    assert "77" in lines and "2026-11-28 09:00 CET" in lines["77"] and "2 h 00 min" in lines["77"]
    assert "Last 3 run(s)" in out


def test_run_problems_lists_failures_and_catch_ups_since_the_previous_report(data_dir):
    log = RunLog(data_dir)
    log.append(record(status="failed", error="old", ended="2026-11-26T12:00:00Z"))
    log.append(
        record(
            kind="report",
            job="report",
            key="2026-11-26",
            day="2026-11-26",
            ended="2026-11-27T05:01:00Z",
        )
    )
    log.append(record(status="failed", error="503", ended="2026-11-27T09:00:05Z"))
    log.append(
        record(
            missed=5,
            missed_since="2026-11-27T10:00:00Z",
            ended="2026-11-27T15:00:05Z",
            reason="catch-up",
        )
    )
    log.append(record(ended="2026-11-27T16:00:05Z"))  # fine
    con = duckdb.connect()
    con.execute((ROOT / "queries" / "views" / "runs.sql").read_text())
    load_into_duckdb(con, data_dir)
    rows = con.execute(
        "SELECT kind, problem, missed, error FROM run_problems('2026-11-27')"
    ).fetchall()
    assert rows == [("export", "failed", 0, "503"), ("export", "caught up", 5, None)]
    assert len(con.execute("SELECT * FROM run_problems('2026-11-26')").fetchall()) == 3


def test_status_names_what_it_gave_up_on_and_what_is_due(data_dir, tmp_path):
    clock = FakeClock(utc(2026, 11, 28, 5, 0))
    rec = Recorder(clock, seconds=1)
    rec.failing = {"report"}
    s = scheduler(config(data_dir, (job("report", "0 6 * * *"),), max_attempts=1), clock, rec)
    s.run_due()
    cfg_file = write(
        tmp_path, '[schedule]\nmax_attempts = 1\n[[jobs]]\nkind = "report"\ncron = "0 6 * * *"\n'
    )
    args = ["--data-dir", str(data_dir), "--config", str(cfg_file), "status", "--as-of"]
    out = CliRunner().invoke(cli, [*args, "2026-11-28T12:00:00Z"]).output
    assert "gave up: report (2026-11-27) failed 1 time(s)" in out
    assert "Last error: report failed (test)" in out
    out = CliRunner().invoke(cli, [*args, "2026-11-29T05:30:00Z"]).output
    assert "due now: report (report, day 2026-11-28)" in out


def test_status_names_each_campaign_where_the_store_knows_its_name(data_dir, tmp_path):
    from conftest import ingest

    for cid in ("77", "78"):
        csv = tmp_path / f"campaign-{cid}_20261128T080000Z.csv"
        csv.write_text("contact_id,state\n1,WA_READ\n")
        ingest(data_dir, csv)
    # as the exporter records the API's list; a name with a line break stays on one line
    (data_dir / "campaigns.json").write_text('{"77": {"name": "Winter\\npromo"}}', "utf-8")
    result = CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), "status", "--as-of", "2026-11-28T10:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "Winter promo" in lines["77"]
    assert lines["78"].split()[1] == "-"  # no name known: a dash, the id stays
    assert "name" in lines["campaign"]
