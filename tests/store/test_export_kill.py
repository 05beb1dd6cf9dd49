"""Kill the exporter mid-run (SIGKILL): no partial snapshot is visible; the next run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from export_helpers import CLIENT_ID, SECRET, assert_equals_tenant
from wait_helpers import GUARD, wait_until

from pipeline.store.snapshots import Store
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

CAMPAIGNS = ("101", "102", "103", "104")


def _env(fake: FakeMluvii, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CAMPAIGN_REPORTS_API_BASE_URL": fake.url,
        "CAMPAIGN_REPORTS_API_CLIENT_ID": CLIENT_ID,
        "CAMPAIGN_REPORTS_API_CLIENT_SECRET": SECRET,
        "CAMPAIGN_REPORTS_API_PAGE_SIZE": "50",
        **extra,
    }


def _cmd(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), "export"]


def check_only_whole_snapshots(data_dir: Path) -> set[str]:
    store = Store(data_dir)
    for meta in store.published():
        frame = pl.read_parquet(data_dir / meta.path)
        assert frame.height == meta.rows
        assert frame.get_column("contact_id").n_unique() == meta.rows
    return {m.campaign_id for m in store.published()}


@pytest.fixture
def slow_fake():
    tenant = FakeTenant(seed=4, sizes=(300, 300, 300, 300), phone_campaign=False)
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake:
        # 7 pages a campaign; from the second page of campaign 102 on, no answer comes (until the
        # client hangs up): the run stops there, one campaign published, until it is killed
        fake.faults.add("stall", path="/campaigns/102/identities", skip=1, times=10_000)
        yield fake


def test_sigkill_during_paging_leaves_only_whole_snapshots(slow_fake: FakeMluvii, tmp_path: Path):
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        _cmd(data_dir), env=_env(slow_fake), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        # wait until one campaign is published and the next one is being paged
        def paging_the_next_one() -> bool:
            published = {m.campaign_id for m in Store(data_dir).published()}
            paging = slow_fake.requests("/campaigns/102/identities")
            return bool(published) and len(paging) >= 2

        wait_until(paging_the_next_one, "the second campaign's paging", proc=proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=GUARD)
    assert proc.returncode == -signal.SIGKILL
    before = check_only_whole_snapshots(data_dir)
    assert before and before != set(CAMPAIGNS)  # it was killed mid-run

    slow_fake.faults.clear()
    done = subprocess.run(
        _cmd(data_dir), env=_env(slow_fake), capture_output=True, text=True, timeout=GUARD
    )
    assert done.returncode == 0, done.stderr
    assert check_only_whole_snapshots(data_dir) == set(CAMPAIGNS)
    for cid in CAMPAIGNS:
        latest = [m for m in Store(data_dir).published() if m.campaign_id == cid][-1]
        assert_equals_tenant(data_dir, latest, slow_fake.tenant)


@pytest.mark.parametrize("point", ["renamed", "delta-commit"])
def test_crash_while_publishing_shows_old_or_new(slow_fake: FakeMluvii, tmp_path: Path, point: str):
    slow_fake.faults.clear()
    data_dir = tmp_path / "data"
    crash = subprocess.run(
        _cmd(data_dir),
        env=_env(slow_fake, CAMPAIGN_REPORTS_CRASH_AT=f"{point}:2"),  # in the second campaign
        capture_output=True,
        timeout=GUARD,
    )
    assert crash.returncode == -signal.SIGKILL
    assert check_only_whole_snapshots(data_dir) == {"101"}
    again = subprocess.run(_cmd(data_dir), env=_env(slow_fake), capture_output=True, timeout=GUARD)
    assert again.returncode == 0
    assert check_only_whole_snapshots(data_dir) == set(CAMPAIGNS)
    listed = {m.path for m in Store(data_dir).published()}
    on_disk = {
        p.relative_to(data_dir).as_posix()
        for p in (data_dir / "snapshots").rglob("*.parquet")
        if "_delta_log" not in p.parts
    }
    assert on_disk == listed  # what the crash left behind was cleaned up
