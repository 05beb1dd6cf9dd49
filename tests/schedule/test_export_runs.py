"""The export through the real CLI (in this process), against the fake API on loopback: an
incomplete pull makes ``run --quiet`` fail with one line and shows in ``status``; ``export
--force`` pulls a finished campaign again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from export_helpers import CLIENT_ID, SECRET, published

from pipeline.cli.main import main
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture(name="tenant")
def small_tenant() -> FakeTenant:
    # campaign 101 (60 contacts) finishes a day after START; 102 (8) does not
    return FakeTenant(seed=3, sizes=(60, 8), finished=(0,), phone_campaign=False, start=START)


@pytest.fixture(name="fake")
def small_fake(tenant: FakeTenant) -> Iterator[FakeMluvii]:
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server


@pytest.fixture(name="cli")
def cli_fixture(fake: FakeMluvii, data_dir: Path, tmp_path: Path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[api]\nbase_url = "{fake.url}"\nclient_id = "{CLIENT_ID}"\npage_size = 25\n'
        "backoff_base = 0.01\nbackoff_max = 0.02\n"
        '[[jobs]]\nkind = "export"\ncron = "0 * * * *"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CAMPAIGN_REPORTS_API_CLIENT_SECRET", SECRET)

    def cli(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(["--data-dir", str(data_dir), "--config", str(config), *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return cli


def test_an_incomplete_pull_fails_run_quiet_with_one_line_and_shows_in_status(
    cli, fake: FakeMluvii, data_dir: Path
):
    fake.faults.mutate(101, at_offset=25, insert=2, times=2)  # repeats in both pulls
    code, out, err = cli("--quiet", "run", "--as-of", "2026-11-28T09:00:00Z")
    assert code == 1 and out == ""
    [line] = err.splitlines()
    # 2 inserted in front during each pull: the second pull starts with 62 and pulls those 62
    # (2 of them twice); 64 are listed after it
    assert line.startswith("Error: export failed: campaign 101 (WhatsApp campaign 101): 62 ")
    assert "INCOMPLETE: 2 contacts came twice" in line and "(1 of 1 run(s) failed" in line
    assert [m.complete for m in published(data_dir, 101)] == [False]

    code, out, _ = cli("status", "--as-of", "2026-11-28T09:05:00Z")
    assert code == 0
    assert "Problems (1: campaigns whose latest export failed or is incomplete)" in out
    [problem] = [x for x in out.splitlines() if "PROBLEM" in x]
    assert "campaign 101: published INCOMPLETE: 2 contacts came twice" in problem

    # the next hour's pull is clean: the problem is gone, the exit code 0
    code, _, err = cli("--quiet", "run", "--as-of", "2026-11-28T10:00:00Z")
    assert (code, err) == (0, "")
    _, out, _ = cli("status", "--as-of", "2026-11-28T10:05:00Z")
    assert "Problems (0:" in out and "PROBLEM" not in out


def test_export_quiet_prints_only_the_problems(cli, fake: FakeMluvii):
    fake.faults.add("status", path="/campaigns/102/identities", status=404)
    fake.faults.mutate(101, at_offset=25, insert=2, times=2)
    code, out, err = cli("--quiet", "export", "--as-of", "2026-11-28T09:00:00Z")
    assert code == 1 and out == ""
    lines = err.splitlines()  # one line per problem, nothing else
    assert len(lines) == 2
    assert lines[0].startswith("Error: campaign 101 (WhatsApp campaign 101): 62 contacts")
    assert "INCOMPLETE" in lines[0]
    assert lines[1].startswith("campaign 102 (WhatsApp campaign 102): FAILED. GET ")
    assert lines[1].endswith("(2 of 2 campaign(s) failed or incomplete; the others were exported)")
    _, out, _ = cli("status", "--as-of", "2026-11-28T09:05:00Z")
    problems = [x for x in out.splitlines() if "PROBLEM" in x]
    assert len(problems) == 2
    assert "campaign 101: published INCOMPLETE: 2 contacts came twice" in problems[0]
    assert "campaign 102: export failed: GET /api/v1/Campaigns/102/identities" in problems[1]
    assert "HTTP 404" in problems[1]


def test_force_pulls_a_finished_campaign_again(
    cli, fake: FakeMluvii, tenant: FakeTenant, data_dir: Path
):
    tenant.now = START + timedelta(days=2)  # campaign 101 finished a day ago
    assert cli("export", "--as-of", "2026-11-29T08:00:00Z")[0] == 0
    [first] = published(data_dir, 101)
    first_file = (data_dir / first.path).read_bytes()

    code, _, err = cli("export", "--campaign", "101", "--as-of", "2026-11-29T09:00:00Z")
    assert code == 0 and "campaign 101 (WhatsApp campaign 101): skipped, it finished" in err
    assert len(published(data_dir, 101)) == 1

    code, _, err = cli("export", "--campaign", "101", "--force", "--as-of", "2026-11-29T10:00:00Z")
    assert code == 0, err
    old, new = sorted(published(data_dir, 101), key=lambda m: m.snapshot_time)
    assert old == first and (data_dir / old.path).read_bytes() == first_file  # unchanged
    assert new.complete and new.rows == 60 and new.snapshot_time.startswith("2026-11-29T10:00")
    assert not [m for m in published(data_dir, 102) if m.snapshot_time.startswith("2026-11-29T10")]
