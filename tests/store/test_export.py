"""The export over real loopback HTTP against the fake mluvii server: happy paths and config."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from export_helpers import (
    CLIENT_ID,
    SECRET,
    StepClock,
    assert_equals_tenant,
    fake_fixture,  # noqa: F401  (the fake fixture)
    published,
    run_export,
    snapshot_frame,
    tenant_fixture,  # noqa: F401  (the tenant fixture)
)
from wait_helpers import GUARD

from pipeline.core.config import load_config
from pipeline.core.errors import ConfigError
from pipeline.store.snapshots import Store
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import UNKNOWN_STATE, FakeTenant


def test_full_export_equals_the_tenant(fake: FakeMluvii, tenant: FakeTenant, data_dir: Path):
    run = run_export(fake, data_dir)
    s = run.summary
    assert s.ok and s.count("published") == 3 and s.count("failed") == 0
    assert {r.campaign_id for r in s.results} == {"101", "102", "103"}  # not the phone campaign
    assert s.contacts == 250 + 1200 + 40
    for cid in (101, 102, 103):
        [meta] = published(data_dir, cid)
        assert meta.source == "api" and meta.complete and meta.duplicate_rows == 0
        assert_equals_tenant(data_dir, meta, tenant)
    # requests: 1 token, 1 campaign list, per campaign its pages (an empty one ends it: 250 =
    # 100 + 100 + 50 + 0, 1,200 = 12 x 100 + 0, 40 = 40 + 0) + the re-count
    pages = {"101": 4, "102": 13, "103": 2}
    assert fake.token_requests == 1
    for cid, n in pages.items():
        got = fake.requests(f"/campaigns/{cid}/identities")
        assert len(got) == n
        ends = {"101": 250, "102": 1200, "103": 40}  # the empty page is asked for after the last
        assert [int(r.params["offset"]) for r in got] == [*range(0, ends[cid], 100), ends[cid]]
        assert {r.params["limit"] for r in got} == {"100"}
    assert s.requests == 1 + 1 + sum(pages.values()) + 3 == len(fake.log)
    assert "3 snapshot(s) published, 0 skipped, 0 failed" in run.output


def test_snapshot_time_is_when_the_pull_started(fake: FakeMluvii, data_dir: Path):
    clock = StepClock()
    start = clock.t
    run_export(fake, data_dir, clock=clock)
    times = sorted(m.time for m in Store(data_dir).published())
    # the clock is read when each pull starts and when it ends (one step each)
    assert times == [start, start + timedelta(seconds=2), start + timedelta(seconds=4)]
    first = published(data_dir, 101)[0]
    assert (first.pull_started, first.pull_finished) == (
        "2026-11-28T06:00:00.000000Z",
        "2026-11-28T06:00:01.000000Z",
    )
    assert first.verified_by == "identity_ids" and not first.slow_pull
    frame = snapshot_frame(data_dir, published(data_dir, 101)[0])
    assert frame.get_column("snapshot_time").unique().to_list() == [start]


def test_a_later_export_sees_contacts_move(fake: FakeMluvii, tenant: FakeTenant, data_dir: Path):
    tenant.now = tenant.start + timedelta(hours=1)
    run_export(fake, data_dir, clock=StepClock())
    tenant.now = tenant.start + timedelta(hours=20)
    run_export(fake, data_dir, clock=StepClock(tenant.now))
    first, second = published(data_dir, 102)
    assert_equals_tenant(data_dir, second, tenant)
    a = snapshot_frame(data_dir, first).get_column("state").value_counts()
    b = snapshot_frame(data_dir, second).get_column("state").value_counts()
    assert not a.equals(b)
    read = lambda f: f.filter(pl.col("state") == "read").height  # noqa: E731
    assert read(snapshot_frame(data_dir, second)) > read(snapshot_frame(data_dir, first))


def test_same_pull_at_the_same_time_is_not_published_twice(fake: FakeMluvii, data_dir: Path):
    run_export(fake, data_dir, clock=StepClock())
    again = run_export(fake, data_dir, clock=StepClock())
    assert again.summary.count("already_present") == 3 and again.summary.ok
    assert len(Store(data_dir).published()) == 3


def test_unknown_enum_values_arrive_as_other_with_raw_text(data_dir: Path):
    tenant = FakeTenant(seed=3, sizes=(300,), phone_campaign=False, unknown_every=7)
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        run = run_export(server, data_dir)
    [meta] = published(data_dir, 101)
    frame = snapshot_frame(data_dir, meta)
    other = frame.filter(pl.col("state") == "other")
    assert other.height == meta.other_rows == len(range(0, 300, 7))
    assert other.get_column("raw_state").unique().to_list() == [UNKNOWN_STATE]
    assert run.result(101).unknown_states == {UNKNOWN_STATE: other.height}
    assert UNKNOWN_STATE in run.output
    assert_equals_tenant(data_dir, meta, tenant)


def test_finished_campaign_is_skipped_after_a_complete_snapshot(data_dir: Path):
    tenant = FakeTenant(seed=5, sizes=(120, 80), finished=(0,), phone_campaign=False)
    tenant.now = tenant.start + timedelta(days=2)  # campaign 101 finished a day after start
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        first = run_export(server, data_dir, clock=StepClock(tenant.now))
        assert first.summary.count("published") == 2
        before = len(server.requests("/campaigns/101/identities"))
        second = run_export(server, data_dir, clock=StepClock(tenant.now + timedelta(hours=1)))
        assert second.result(101).status == "skipped"
        assert "finished" in second.result(101).reason
        assert second.result(102).status == "published"  # not finished: exported again
        assert len(server.requests("/campaigns/101/identities")) == before
        assert "1 skipped" in second.output


def test_an_incomplete_snapshot_does_not_make_a_finished_campaign_skippable(data_dir: Path):
    tenant = FakeTenant(seed=5, sizes=(300,), finished=(0,), phone_campaign=False)
    tenant.now = tenant.start + timedelta(days=2)
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        server.faults.mutate(101, at_offset=100, insert=3, times=2)  # both pulls repeat contacts
        first = run_export(server, data_dir, clock=StepClock(tenant.now))
        assert first.result(101).status == "published" and not first.result(101).complete
        second = run_export(server, data_dir, clock=StepClock(tenant.now + timedelta(hours=1)))
        assert second.result(101).status == "published" and second.result(101).complete
        third = run_export(server, data_dir, clock=StepClock(tenant.now + timedelta(hours=2)))
        assert third.result(101).status == "skipped"


def test_campaign_option_exports_only_those(fake: FakeMluvii, data_dir: Path):
    run = run_export(fake, data_dir, campaign_ids=["103", "555", "900"])
    assert run.result(103).status == "published"
    assert run.result(555).status == "failed" and "555" in str(run.result(555).error)
    assert run.result(900).status == "failed"  # the phone campaign is not a WhatsApp campaign
    assert not run.summary.ok
    assert {m.campaign_id for m in Store(data_dir).published()} == {"103"}
    assert not fake.requests("/campaigns/101/identities")


def test_api_config_layering(tmp_path: Path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(
        '[api]\nbase_url = "http://127.0.0.1:9"\npage_size = 250\nclient_id = "x"\n'
    )
    cfg = load_config(cfg_file, environ={"CAMPAIGN_REPORTS_API_PAGE_SIZE": "500"})
    assert cfg.api.base_url == "http://127.0.0.1:9"
    assert cfg.api.page_size == 500  # the environment beats the file
    assert cfg.api.client_id == "x"
    assert cfg.api.token_endpoint == "http://127.0.0.1:9/login/connect/token"
    assert load_config(environ={}).api.page_size == 1000
    assert cfg.api.client_secret(environ={}) is None
    secret = cfg.api.client_secret(environ={"CAMPAIGN_REPORTS_API_CLIENT_SECRET": "s3"})
    assert secret is not None and secret.reveal() == "s3" and "s3" not in repr(secret)
    cfg_file.write_text('[api]\nclient_secret = "no"\n')
    with pytest.raises(ConfigError, match="environment only"):
        load_config(cfg_file, environ={})
    cfg_file.write_text("[api]\npage_size = 0\n")
    with pytest.raises(ConfigError, match="page_size"):
        load_config(cfg_file, environ={})


def _cli_env(fake: FakeMluvii, **extra: str) -> dict[str, str]:
    return {
        "CAMPAIGN_REPORTS_API_BASE_URL": fake.url,
        "CAMPAIGN_REPORTS_API_CLIENT_ID": CLIENT_ID,
        "CAMPAIGN_REPORTS_API_CLIENT_SECRET": SECRET,
        "CAMPAIGN_REPORTS_API_PAGE_SIZE": "100",
        **extra,
    }


def test_cli_export_progress_summary_and_exit_code(fake: FakeMluvii, data_dir: Path):
    env = {**os.environ, **_cli_env(fake)}
    cmd = [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir), "export"]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=GUARD)
    assert ok.returncode == 0, ok.stderr
    for cid in ("101", "102", "103"):
        assert f"campaign {cid} (WhatsApp campaign {cid}): " in ok.stderr
    assert "Export: 3 campaign(s), 1,490 contacts, 3 snapshot(s) published" in ok.stderr
    fake.faults.add("status", path="/campaigns/102/identities", status=500, times=3)
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=GUARD)
    assert bad.returncode == 1
    assert "campaign 102 (WhatsApp campaign 102): FAILED" in bad.stderr
    assert "HTTP 500" in bad.stderr and "(1 of 3 campaign(s) failed or incomplete" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert len(published(data_dir, 101)) == 2 and len(published(data_dir, 102)) == 1


def test_cli_without_secret_says_how_to_set_it(
    fake: FakeMluvii, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    from pipeline.cli.main import main

    for k, v in _cli_env(fake).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("CAMPAIGN_REPORTS_API_CLIENT_SECRET")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(data_dir), "export"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "CAMPAIGN_REPORTS_API_CLIENT_SECRET" in err
    assert not fake.log  # nothing was asked of the API


def test_cli_help_has_examples():
    from pipeline.cli.main import cli

    for name in ("export", "fake-api"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_identity_fields_are_matched_without_regard_to_case():
    from pipeline.sources.pull import identities_frame

    frame = identities_frame(
        [
            {"Id": 5, "State": "WA_READ", "Created": None, "RetryCount": 2, "Extra": 1},
            {"Id": "6", "State": "NEW_ONE", "RetryScheduledDate": "2026-11-28T06:00:00Z"},
        ]
    )
    assert frame.columns == ["id", "state", "created", "retryScheduledDate", "retryCount"]
    assert frame.get_column("id").to_list() == ["5", "6"]
    assert frame.get_column("retryCount").to_list() == ["2", None]


def test_recount_falls_back_to_the_campaign_list(fake: FakeMluvii, tenant, data_dir: Path):
    fault = fake.faults.add("status", path=r"/campaigns/\d+$", status=404, times=10)
    run = run_export(fake, data_dir)
    assert run.summary.ok and all(r.complete for r in run.summary.results)
    assert fault.hits == 3  # one re-count per campaign, each answered 404
    assert [r.path for r in fake.log].count("/api/v1/Campaigns") == 1 + 3
    assert_equals_tenant(data_dir, published(data_dir, 102)[0], tenant)


def test_campaign_names_from_the_api_reach_the_warehouse_and_the_report(
    fake: FakeMluvii, data_dir: Path
):
    from pipeline.core.config import Config
    from pipeline.core.console import Console
    from pipeline.report import render_day
    from pipeline.warehouse.analyst import open_analyst
    from pipeline.warehouse.build import build

    run_export(fake, data_dir)
    known = Store(data_dir).campaigns()
    assert known["101"]["name"] == "WhatsApp campaign 101"
    assert "900" not in known  # the phone campaign is not exported, nor recorded
    config = Config(data_dir=data_dir)
    build(config, Console.silent())
    con = open_analyst(config)
    try:
        names = dict(con.execute("SELECT campaign_id, name FROM campaigns").fetchall())
    finally:
        con.close()
    assert names == {c: f"WhatsApp campaign {c}" for c in ("101", "102", "103")}
    overview = render_day(config, Console.silent()).read_text()
    assert ">WhatsApp campaign 102<" in overview
