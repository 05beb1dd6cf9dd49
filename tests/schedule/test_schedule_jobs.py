"""The job adapters with the real stages: inbox ingest, build, report, and a real catch-up."""

from __future__ import annotations

import os
from datetime import date

import pytest
from schedule_helpers import FakeClock, Recorder, config, job, records, scheduler, utc, write_export

import pipeline.schedule.jobs as jobs_module
from pipeline.schedule.jobs import ADAPTERS, JobContext, JobResult, JobUnavailable, stage
from pipeline.store.snapshots import Store

ONCE = "0 0 1 1 *"


def ingest_scheduler(data_dir, clock, **kw):
    cfg = config(data_dir, (job("ingest", "*/15 * * * *", **kw),))
    return scheduler(cfg, clock)


def test_the_inbox_job_ingests_new_files_once(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    inbox = data_dir / "inbox"
    write_export(inbox, "1", "20261128T060000Z", n=10)
    write_export(inbox / "sub", "2", "20261128T060000Z", n=20)
    (inbox / ".campaign-3_20261128T060000Z.csv").write_text("being copied")
    (inbox / "_campaign-4_20261128T060000Z.csv").write_text("being copied")
    (inbox / "notes.md").write_text("not an export")
    s = ingest_scheduler(data_dir, clock)
    (run,) = s.run_due()
    assert run.status == "ok" and run.snapshots == 2 and run.rows == 30
    assert sorted(f[0] for f in run.detail["files"]) == [
        "campaign-1_20261128T060000Z.csv",
        "sub/campaign-2_20261128T060000Z.csv",
    ]

    clock.advance(minutes=15)
    (again,) = s.run_due()
    assert again.detail["files"] == [] and again.snapshots == 0  # nothing read twice

    write_export(inbox, "5", "20261128T070000Z", n=5)
    clock.advance(minutes=15)
    (third,) = s.run_due()
    assert [f[0] for f in third.detail["files"]] == ["campaign-5_20261128T070000Z.csv"]
    assert len(Store(data_dir).published()) == 3


def test_a_rejected_file_fails_the_run_once_and_is_tried_again_when_it_changes(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    inbox = data_dir / "inbox"
    bad = inbox / "campaign-9_20261128T060000Z.csv"
    inbox.mkdir()
    bad.write_text("contact_id,nope\n1,2\n")
    write_export(inbox, "1", "20261128T060000Z", n=10)
    s = ingest_scheduler(data_dir, clock)
    (run,) = s.run_due()
    assert run.status == "failed" and run.snapshots == 1  # the good file is in
    assert "1 of 2 file(s) not ingested" in run.error and "campaign-9" in run.error
    assert "required column 'state' is missing" in run.error

    clock.advance(minutes=15)
    (again,) = s.run_due()
    assert again.status == "ok" and again.detail["files"] == []  # not tried again unchanged

    bad.write_text("contact_id,state\n1,WA_READ\n")  # fixed
    os.utime(bad, ns=(1, 1))
    clock.advance(minutes=15)
    (fixed,) = s.run_due()
    assert fixed.status == "ok" and fixed.snapshots == 1


def test_ingest_stops_between_files_when_asked(data_dir):
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    for i in range(3):
        write_export(data_dir / "inbox", str(i), "20261128T060000Z", n=5)
    s = ingest_scheduler(data_dir, clock)
    real = s.adapters["ingest"]

    def stop_after_first(ctx: JobContext) -> JobResult:
        import pipeline.schedule.jobs as jobs

        original = jobs.stage

        def counting(kind):
            fn = original(kind)

            def wrapped(*a, **kw):
                out = fn(*a, **kw)
                ctx.stop.request("test")  # a SIGTERM arrives during the first file
                return out

            return wrapped

        jobs.stage = counting
        try:
            return real(ctx)
        finally:
            jobs.stage = original

    s.adapters["ingest"] = stop_after_first
    (run,) = s.run_due()
    assert run.status == "ok" and len(run.detail["files"]) == 1
    assert len(Store(data_dir).published()) == 1


def test_a_kind_whose_stage_is_missing_fails_with_a_clear_message(data_dir, monkeypatch):
    monkeypatch.setitem(jobs_module.STAGES, "retention", ("pipeline.nope", "apply"))
    with pytest.raises(JobUnavailable, match=r"retention stage .* is not available yet"):
        stage("retention")
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    (run,) = scheduler(config(data_dir, (job("retention", ONCE),)), clock).run_due()
    assert run.status == "failed" and "not available yet" in run.error


def test_every_kind_has_its_stage_in_this_version():
    for kind in ADAPTERS:
        assert callable(stage(kind)), kind


def test_three_days_down_with_the_real_stages(data_dir):
    """Ingest, build and report for real (the export is faked: no API here)."""
    clock = FakeClock(utc(2026, 11, 20, 6, 0))  # 07:00 Prague
    inbox = data_dir / "inbox"
    write_export(inbox, "1", "20261119T100000Z", n=40)
    rec = Recorder(clock, seconds=1)
    cfg = config(
        data_dir,
        (
            job("ingest", "*/15 * * * *"),
            job("export", "0 * * * *"),
            job("report", "0 6 * * *"),
        ),
    )
    adapters = dict(ADAPTERS, export=rec.adapter)
    s = scheduler(cfg, clock, adapters=adapters)
    s.run_due()
    assert (data_dir / "reports" / "2026-11-19" / "index.html").is_file()

    for d in (20, 21, 22):  # the exports the machine made before it went down
        write_export(inbox, "1", f"202611{d}T100000Z", n=40 + d)
    clock.t = utc(2026, 11, 23, 7, 0)
    rec.calls.clear()
    scheduler(cfg, clock, adapters=adapters).run_due()

    runs = records(data_dir)
    rendered = [r.day for r in runs if r.kind == "report" and r.status == "ok"]
    assert rendered == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    for d in (20, 21, 22):
        assert (data_dir / "reports" / f"2026-11-{d}" / "index.html").is_file()
    assert len(rec.of("export")) == 1
    last_ingest = [r for r in runs if r.kind == "ingest"][-1]
    assert last_ingest.snapshots == 3 and last_ingest.missed > 200
    assert [r.status for r in runs] == ["ok"] * len(runs), [r.error for r in runs]
    assert date(2026, 11, 22).isoformat() in (data_dir / "reports" / "index.html").read_text()


def test_the_runs_view_is_in_the_analyst_copy(data_dir):
    from pipeline.warehouse.analyst import open_analyst
    from pipeline.warehouse.build import build

    cfg = config(data_dir, (job("retention", ONCE),))
    build(cfg)
    con = open_analyst(cfg)
    try:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
    finally:
        con.close()


def test_the_build_loads_the_run_log_into_the_runs_view(data_dir):
    from pipeline.warehouse.analyst import open_analyst
    from pipeline.warehouse.build import build

    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    cfg = config(data_dir, (job("retention", ONCE),))
    scheduler(cfg, clock).run_due()
    build(cfg)
    con = open_analyst(cfg)
    try:
        assert con.execute("SELECT job, status FROM runs").fetchall() == [("retention", "ok")]
    finally:
        con.close()


def test_files_loaded_by_the_ingest_command_are_not_read_again(data_dir):
    from conftest import ingest

    inbox = data_dir / "inbox"
    done = write_export(inbox, "1", "20261128T060000Z", n=10)
    ingest(data_dir, done)  # e.g. the demo, or a person with `campaign-reports ingest`
    (inbox / "_marker.json").write_text("{}")  # names starting with _ or . are not exports
    new = write_export(inbox, "2", "20261128T060000Z", n=10)
    clock = FakeClock(utc(2026, 11, 28, 9, 0))
    (run,) = ingest_scheduler(data_dir, clock).run_due()
    assert [f[0] for f in run.detail["files"]] == [new.name]
    assert run.status == "ok"


def test_the_export_job_with_the_real_exporter_and_a_fake_api(data_dir, monkeypatch):
    from dataclasses import replace

    from export_helpers import SECRET, api_config

    from pipeline.testing.server import running
    from pipeline.testing.tenant import FakeTenant

    tenant = FakeTenant(sizes=(30, 20), phone_campaign=False)
    with running(tenant) as fake:
        cfg = replace(config(data_dir, (job("export", "0 * * * *"),)), api=api_config(fake))
        clock = FakeClock(utc(2026, 11, 28, 9, 5))
        monkeypatch.setenv("CAMPAIGN_REPORTS_API_CLIENT_SECRET", SECRET)
        (ok,) = scheduler(cfg, clock).run_due()
        assert ok.status == "ok", ok.error
        assert ok.snapshots == 2 and ok.rows == 50
        assert ok.detail["failed"] == [] and ok.detail["campaigns"] == 2
        assert len(Store(data_dir).published()) == 2

        monkeypatch.setenv("CAMPAIGN_REPORTS_API_CLIENT_SECRET", "wrong")
        clock.advance(hours=1)
        (failed,) = scheduler(cfg, clock).run_due()
    assert failed.status == "failed" and "Nothing was exported" in failed.error
    assert "wrong" not in failed.error  # never a secret in the log
    assert len(Store(data_dir).published()) == 2
