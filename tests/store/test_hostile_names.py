"""Names from outside that become paths pass one gate (``pipeline.core.names``): a hostile
campaign id from the API, a file's column or the command line never writes outside the data
directory, and the other campaigns and files still load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import ingest
from export_helpers import CLIENT_ID, SECRET, published, run_export

from pipeline.cli.main import main
from pipeline.core.names import UnsafeName, inside, name_part, safe_name
from pipeline.store.snapshots import Store
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

HOSTILE = "../../../../../x/ESCAPED"


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "..", ".", "", "a/b", "a\\b", "/etc", ".hidden", "-rf", "a\nb", "x" * 65, 1.5, None],
)
def test_the_gate_refuses_names_that_are_not_one_plain_path_component(value: object) -> None:
    with pytest.raises(UnsafeName, match="campaign id"):
        safe_name("campaign id", value)


@pytest.mark.parametrize("value", ["1234", "007", "camp_1.a-b", "x" * 64, 101])
def test_the_gate_lets_ordinary_ids_through_as_text(value: object) -> None:
    assert safe_name("campaign id", value) == str(value)


def test_a_file_name_stem_is_made_safe_and_writes_are_checked_against_their_root(
    tmp_path: Path,
) -> None:
    assert name_part("../../etc/passwd") == "etc_passwd"
    assert name_part("..") == "input"
    assert inside(tmp_path, "a/b.csv") == (tmp_path / "a/b.csv").resolve()
    with pytest.raises(UnsafeName, match="outside"):
        inside(tmp_path / "data", "../x.csv")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "link").symlink_to(tmp_path)  # a link out of the root is caught
    with pytest.raises(UnsafeName, match="outside"):
        inside(tmp_path / "data", "link/x.csv")


def test_export_refuses_a_hostile_campaign_id_from_the_api_and_publishes_the_others(
    tmp_path: Path,
) -> None:
    tenant = FakeTenant(seed=3, sizes=(30, 20, 10))
    tenant.campaigns[101].api_id = HOSTILE
    data_dir = tmp_path / "a" / "b" / "c" / "d" / "data"
    data_dir.mkdir(parents=True)
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as fake:
        run = run_export(fake, data_dir)
        asked = [r.path for r in fake.log]
    bad = run.result(HOSTILE)
    assert bad.status == "failed"
    assert "campaign id" in str(bad.error) and "not allowed" in str(bad.error)
    assert not any("ESCAPED" in p for p in asked)  # not even asked for: the id is in the URL
    # the two other campaigns are published: 20 and 10 contacts
    assert [m.rows for m in published(data_dir, 102)] == [20]
    assert [m.rows for m in published(data_dir, 103)] == [10]
    outside = files_under(tmp_path) - files_under(data_dir)
    assert outside == set()
    assert not any("ESCAPED" in str(p) for p in files_under(tmp_path))


def test_hostile_campaign_column_values_are_quarantined_never_paths(
    tmp_path: Path, data_dir: Path
) -> None:
    f = tmp_path / "export.csv"
    f.write_text(
        "contact_id,state,campaign_id,snapshot_time\n"
        "1,WA_READ,../../x,2026-11-28T06:00:00Z\n"
        "2,WA_READ,/tmp/abs,2026-11-28T06:00:00Z\n"
        "3,WA_READ,7,2026-11-28T06:00:00Z\n",
        encoding="utf-8",
    )
    [r] = ingest(data_dir, f, config=None)
    # 2 of 3 rows invalid is more than the 1 % allowed: the file is rejected whole
    assert not r.ok
    assert files_under(tmp_path) - files_under(data_dir) == {f}
    assert Store(data_dir).published() == []


def test_a_hostile_input_file_name_gives_a_plain_quarantine_file_name(
    tmp_path: Path, data_dir: Path
) -> None:
    f = tmp_path / "..;$(rm -rf) name\t.csv"
    lines = ["contact_id,state"] + [f"{i},WA_READ" for i in range(1, 201)] + [",WA_READ"]
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    [r] = ingest(data_dir, f, campaign_id="7", snapshot_time=datetime(2026, 11, 28, tzinfo=UTC))
    # 201 rows, one without a contact id: 1/201 is under 1 %, so 200 load, 1 is quarantined
    assert r.ok and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (201, 200, 1)
    quarantine = [p for p in files_under(data_dir / "quarantine")]
    assert len(quarantine) == 1
    assert quarantine[0].name.startswith("rm_-rf_name_-")  # "..;$(" and ") " and "\t" became "_"


def test_the_command_line_refuses_a_hostile_campaign_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "x.csv"
    f.write_text("contact_id,state\n1,WA_READ\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(tmp_path / "data"), "ingest", "--campaign", HOSTILE, str(f)])
    assert exc.value.code == 2
    assert "campaign id" in capsys.readouterr().err
    assert not (tmp_path / "data").exists() or files_under(tmp_path / "data") == set()
