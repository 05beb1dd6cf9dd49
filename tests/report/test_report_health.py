"""The overview's data freshness and the failed exports since the last report (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from report_helpers import REPORT_DAY, build_tenant, cell_text, parse_html

from pipeline.core.clock import iso_utc
from pipeline.core.console import Console
from pipeline.report import render_reports
from pipeline.store.runlog import RunLog, RunRecord
from pipeline.store.snapshots import SnapshotMeta, Store, snapshot_id_for
from pipeline.warehouse.build import build


def _incomplete_snapshot(data_dir: Path, campaign: str, when: datetime) -> None:
    """Publish a snapshot marked incomplete (as the exporter does after an inconsistent pull)."""
    import polars as pl

    store = Store(data_dir)
    sid = snapshot_id_for(campaign, when)
    meta = SnapshotMeta(
        snapshot_id=sid, campaign_id=campaign, snapshot_time=iso_utc(when), source="api",
        path=store.relative_path(campaign, when, sid), rows=1, fingerprint="x" * 64, complete=False,
    )  # fmt: skip
    frame = pl.DataFrame(
        {"snapshot_id": [sid], "snapshot_time": [when], "source": ["api"], "contact_id": ["a01"],
         "state": ["read"], "raw_state": ["WA_READ"], "legacy": [False], "created": [None],
         "retry_count": [None], "retry_scheduled": [None], "phone_hash": [None]}
    )  # fmt: skip
    with store.writer("test") as w:
        w.commit([w.stage_snapshot(meta, frame)], input_name="api:test")


def _run(job: str, kind: str, status: str, at: str, **kw: object) -> RunRecord:
    return RunRecord(job=job, kind=kind, key=at, scheduled_for=at, started=at, ended=at,
                     status=status, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_freshness_and_failed_exports_on_the_overview(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    cfg = build_tenant(data_dir)
    _incomplete_snapshot(data_dir, "alpha", datetime(2026, 11, 27, 18, 0, tzinfo=UTC))
    log = RunLog(data_dir)
    # the report of the 26th was rendered at 05:00Z on the 27th; since then one export failed
    # and one caught up 3 missed hours; an older failure is not shown any more
    log.append(_run("export", "export", "failed", "2026-11-26T20:00:00Z", error="old failure"))
    log.append(_run("report", "report", "ok", "2026-11-27T05:00:00Z", day="2026-11-26"))
    log.append(_run("export", "export", "failed", "2026-11-27T10:00:00Z", error="HTTP 503 x6"))
    log.append(_run("export", "export", "ok", "2026-11-27T14:00:00Z", missed=3))
    build(cfg, Console.silent())
    result = render_reports(cfg, Console.silent(), day=REPORT_DAY)
    page = parse_html(result.overview(REPORT_DAY).read_text())

    # day end in Prague: 2026-11-27T23:00Z. Ages by hand: alpha 12:00Z -> 11 h (the 18:00
    # snapshot is incomplete: not counted, but shown); beta 07:00Z -> 16 h; zero 09:00Z -> 14 h;
    # gamma 25th 08:00Z -> 2 days 15 h = 63 h. Oldest first.
    rows = page.by_id("freshness").find("tbody").find_all("tr")
    got = [(r.attrs["data-campaign"], cell_text(r.find_all("td")[1]), cell_text(r.find_all("td")[2]))
           for r in rows]  # fmt: skip
    assert got == [("gamma", "63.0", "0"), ("beta", "16.0", "0"), ("zero", "14.0", "0"),
                   ("alpha", "11.0", "1")]  # fmt: skip

    problems = page.by_id("export-problems")
    items = [cell_text(li) for li in problems.find_all("li")]
    assert len(items) == 3
    assert "failed: HTTP 503 x6" in items[0]
    assert "caught up (3 missed run(s) covered)" in items[1]
    # alpha's 18:00Z snapshot (19:00 CET) was published incomplete: its last complete snapshot
    # before is 12:00Z = 13:00 in Prague, 18 - 12 = 6 h older
    assert items[2].startswith("2026-11-27 19:00 CET · alpha: published incomplete")
    assert "2026-11-27 13:00 Europe/Prague, 6.0 h older" in items[2]
    assert "old failure" not in cell_text(problems)


def test_without_a_scheduler_the_overview_says_runs_are_unknown(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    cfg = build_tenant(data_dir)
    result = render_reports(cfg, Console.silent(), day=REPORT_DAY)
    page = parse_html(result.overview(REPORT_DAY).read_text())
    assert "No scheduler runs are recorded" in cell_text(page.by_id("export-problems"))
