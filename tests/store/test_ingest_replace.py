"""`ingest --replace`: a wrong published snapshot (here an export cut short at a line end, so
that it looked whole) is replaced on purpose, recorded as a replacement, and the warehouse
rebuilds that campaign; without --replace the other file is still refused, and the refusal says
how to replace it."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_helpers import build_quiet, make_config, query

from pipeline.cli.main import main
from pipeline.store.loads import LoadLog
from pipeline.store.snapshots import Store

NAME = "campaign-7_20261128T060000Z.csv"


def rows(n: int) -> str:
    # contact i is Delivered when i is even, Read when odd
    states = ("WA_DELIVERED", "WA_READ")
    return "contact_id,state\n" + "".join(f"{i},{states[i % 2]}\n" for i in range(1, n + 1))


def run(data: Path, *args: str, quiet: bool = True) -> int:
    try:
        main(["--data-dir", str(data), *(["--quiet"] if quiet else []), *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def counts(data: Path) -> dict[str, int]:
    found = query(
        make_config(data),
        "SELECT state, contacts FROM state_counts WHERE campaign_id = '7' AND contacts > 0",
    )
    return dict(found)


def test_a_cut_short_snapshot_is_replaced_on_purpose_and_the_warehouse_follows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    (tmp_path / "cut").mkdir()
    cut = tmp_path / "cut" / NAME
    full = tmp_path / NAME
    full.write_text(rows(1500), encoding="utf-8")
    cut.write_text(rows(340), encoding="utf-8")  # the first 340 rows, cut at a line end
    assert run(data, "ingest", str(cut)) == 0
    assert run(data, "build") == 0
    # 340 rows: 170 even (Delivered), 170 odd (Read)
    assert counts(data) == {"delivered": 170, "read": 170}
    [old] = Store(data).published()

    capsys.readouterr()
    assert run(data, "ingest", str(full), quiet=False) == 1
    said = capsys.readouterr()
    assert "--replace" in said.out + said.err and "Nothing was written" in said.out + said.err
    assert Store(data).published() == [old]

    assert run(data, "ingest", "--replace", str(full)) == 0
    [new] = Store(data).published()
    assert (new.snapshot_id, new.rows) == (old.snapshot_id, 1500)
    assert not (data / old.path).exists()  # the old file is gone with the commit
    change = Store(data).commits()[-1]
    assert change["op"] == "change" and change["replaced_ids"] == [old.snapshot_id]
    assert change["replacement"] is True
    last = LoadLog(data).records()[-1]
    assert (last["status"], last["replaced"], last["published"]) == ("ok", [new.snapshot_id], [])

    assert run(data, "build") == 0  # incremental: the replaced campaign is rebuilt
    # 1500 rows: 750 even (Delivered), 750 odd (Read)
    assert counts(data) == {"delivered": 750, "read": 750}
    assert query(make_config(data), "SELECT rows, path FROM snapshot_log") == [(1500, new.path)]

    # the same file again, with or without --replace: already there, nothing changes
    assert run(data, "ingest", "--replace", str(full)) == 0
    assert Store(data).published() == [new]


def test_replacing_a_snapshot_in_a_compacted_file_keeps_its_neighbours(tmp_path: Path) -> None:
    """A replaced snapshot whose file it shares with others (a compacted day): the file goes,
    the others get files of their own, with their rows."""
    from datetime import UTC, datetime

    from pipeline.core.console import Console
    from pipeline.store.retention import apply_retention

    data = tmp_path / "data"
    config = make_config(data)
    names = [f"campaign-7_20261128T0{h}0000Z.csv" for h in (6, 7, 8)]
    for i, name in enumerate(names):
        (tmp_path / name).write_text(rows(10 + i), encoding="utf-8")
        assert run(data, "ingest", str(tmp_path / name)) == 0
    apply_retention(config, Console.silent(), datetime(2026, 12, 5, tzinfo=UTC))  # compacts
    before = {m.snapshot_time: m for m in Store(data).published()}
    assert len({m.path for m in before.values()}) == 1
    (tmp_path / "fix").mkdir()
    fix = tmp_path / "fix" / names[1]
    fix.write_text(rows(20), encoding="utf-8")
    assert run(data, "ingest", "--replace", str(fix)) == 0
    after = {m.snapshot_time: m for m in Store(data).published()}
    # 06:00 kept 10 rows, 07:00 now 20 (was 11), 08:00 kept 12
    assert sorted(m.rows for m in after.values()) == [10, 12, 20]
    assert len({m.path for m in after.values()}) == 3
    for m in after.values():
        assert (data / m.path).exists()
    build_quiet(config)
    [(n,)] = query(config, "SELECT sum(rows) FROM snapshot_log")
    assert n == 10 + 20 + 12


def test_a_replacement_with_as_many_rows_is_rebuilt_too(tmp_path: Path) -> None:
    """Same row count, other states: the warehouse still notices the replacement (the snapshot
    is in a new file of its own), not only a change of row count."""
    data = tmp_path / "data"
    (tmp_path / "wrong").mkdir()
    wrong = tmp_path / "wrong" / NAME
    wrong.write_text(rows(4).replace("WA_READ", "WA_DELIVERED"), encoding="utf-8")
    assert run(data, "ingest", str(wrong)) == 0
    assert run(data, "build") == 0
    assert counts(data) == {"delivered": 4}
    right = tmp_path / NAME
    right.write_text(rows(4), encoding="utf-8")
    assert run(data, "ingest", "--replace", str(right)) == 0
    assert run(data, "build") == 0
    # contacts 1..4: 2 and 4 Delivered, 1 and 3 Read
    assert counts(data) == {"delivered": 2, "read": 2}
