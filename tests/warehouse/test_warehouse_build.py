"""The warehouse build: incremental equals full, the history reproduces the snapshots, the analyst
copy survives an open session, and errors say what happened."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from wait_helpers import GUARD
from warehouse_helpers import (
    S1,
    S2,
    S3,
    S4,
    TINY_A,
    build_quiet,
    build_tiny_tenant,
    ingest_snapshot,
    make_config,
    query,
    tiny_rows,
    utc,
    write_snapshot,
)

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.core.errors import QueryError, WarehouseError
from pipeline.store.snapshots import HIVE_TYPES, Store, snapshot_id_for
from pipeline.warehouse.build import WarehouseBusy, build
from pipeline.warehouse.db import ANALYST_FILE, LOCK_FILE, WAREHOUSE_DIR, WAREHOUSE_FILE, connect
from pipeline.warehouse.sql import QUERIES_ENV, queries_dir
from pipeline.warehouse.steps import MAX_SNAPSHOTS_PER_CAMPAIGN, RESULT_TABLES


def warehouse_file(config: Config) -> Path:
    return Path(config.data_dir) / WAREHOUSE_DIR / WAREHOUSE_FILE


def differences(left: Path, right: Path) -> dict[str, tuple[int, int]]:
    """Rows of each result table in one warehouse and not the other (EXCEPT ALL, both ways)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
    con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
    out = {}
    for table in RESULT_TABLES:
        a = con.execute(
            f"SELECT count(*) FROM (FROM l.{table} EXCEPT ALL FROM r.{table})"
        ).fetchall()[0]
        b = con.execute(
            f"SELECT count(*) FROM (FROM r.{table} EXCEPT ALL FROM l.{table})"
        ).fetchall()[0]
        assert a is not None and b is not None
        if a[0] or b[0]:
            out[table] = (a[0], b[0])
    con.close()
    return out


def assert_incremental_equals_full(config: Config, tmp: Path) -> None:
    incremental = tmp / "incremental.duckdb"
    shutil.copyfile(warehouse_file(config), incremental)
    build(config, Console.silent(), full=True)
    assert differences(incremental, warehouse_file(config)) == {}


def expansion_differences(config: Config) -> tuple[int, int]:
    """The snapshots view (the history expanded) against the Parquet files of the manifest, on
    each row's state (history is kept on states: the view's raw_state and legacy are those of
    the interval's first snapshot, not each row's own)."""
    store = Store(config.data_dir)
    files = [str(Path(config.data_dir) / m.path) for m in store.published() if m.complete]
    con = connect(Path(config.data_dir) / WAREHOUSE_DIR / ANALYST_FILE, read_only=True)
    if files:
        con.execute(
            "CREATE TEMP TABLE parquet_rows AS SELECT campaign_id, snapshot_id, contact_id, state "
            "FROM read_parquet(?, hive_partitioning = true, hive_types = "
            "{'campaign_id': VARCHAR, 'snapshot_date': DATE})",
            [files],
        )
    else:
        con.execute(
            "CREATE TEMP TABLE parquet_rows AS SELECT campaign_id, snapshot_id, contact_id, state "
            "FROM snapshots LIMIT 0"
        )
    view = "SELECT campaign_id, snapshot_id, contact_id, state FROM snapshots"
    a = con.execute(f"SELECT count(*) FROM ({view} EXCEPT ALL FROM parquet_rows)").fetchall()[0]
    b = con.execute(f"SELECT count(*) FROM (FROM parquet_rows EXCEPT ALL {view})").fetchall()[0]
    con.close()
    assert a is not None and b is not None
    return a[0], b[0]


STORED_FORMULAS = {
    # stored table -> the formula it must equal, over the whole history (configured time zone)
    "milestones": "SELECT * FROM milestones_of('state_history')",
    "daily_state": "SELECT * FROM (WITH ends AS (FROM day_ends()) SELECT * FROM day_counts('ends'))",
    "daily_moves": "SELECT * FROM transitions_of()",
    "snapshot_reached": "SELECT * FROM reached_of('state_history')",
    "snapshot_states": "SELECT * FROM states_of('state_history')",
    "reach_hours": "SELECT * FROM reach_hours_of()",
}


def stored_differences(config: Config) -> dict[str, tuple[int, int]]:
    """Each table the build keeps up to date step by step (milestones, daily_state,
    daily_moves, snapshot_reached, snapshot_states, reach_hours) against its formula computed
    afresh over the whole history: rows only in the table, rows only in the formula. All zero
    when they agree."""
    con = connect(Path(config.data_dir) / WAREHOUSE_DIR / ANALYST_FILE, read_only=True)
    out = {}
    try:
        for table, formula in STORED_FORMULAS.items():
            a = con.execute(f"SELECT count(*) FROM (FROM {table} EXCEPT ALL {formula})")
            only_table = a.fetchall()[0][0]
            b = con.execute(f"SELECT count(*) FROM ({formula} EXCEPT ALL FROM {table})")
            only_formula = b.fetchall()[0][0]
            out[table] = (only_table, only_formula)
        out["daily_dirty"] = (con.execute("SELECT count(*) FROM daily_dirty").fetchall()[0][0], 0)
    finally:
        con.close()
    return out


NO_STORED_DIFFERENCES = {t: (0, 0) for t in (*STORED_FORMULAS, "daily_dirty")}


def test_hive_types_match_the_store() -> None:
    assert HIVE_TYPES == {"campaign_id": "VARCHAR", "snapshot_date": "DATE"}


def test_incremental_build_equals_full_rebuild(tmp_path: Path) -> None:
    config = build_tiny_tenant(tmp_path / "data")
    assert_incremental_equals_full(config, tmp_path)


def test_history_expands_back_to_every_snapshot(tmp_path: Path) -> None:
    config = build_tiny_tenant(tmp_path / "data")
    assert expansion_differences(config) == (0, 0)
    assert stored_differences(config) == NO_STORED_DIFFERENCES


def test_incremental_build_reads_only_new_snapshots(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    first = build(config, Console.silent())
    assert (first.full, first.snapshots_new, first.rows_read) == (True, 1, 7)
    again = build(config, Console.silent())
    assert (again.full, again.snapshots_new, again.rows_read) == (False, 0, 0)
    ingest_snapshot(config, "A", S2, tiny_rows(1))
    step = build(config, Console.silent())
    assert (step.snapshots_new, step.rows_read, step.campaigns_rebuilt) == (1, 7, [])


def test_a_late_snapshot_rebuilds_its_campaign(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    for when, i in ((S1, 0), (S3, 2), (S4, 3)):
        ingest_snapshot(config, "A", when, tiny_rows(i))
    ingest_snapshot(config, "Z", S1, [("z1", "WA_SENT")])
    build_quiet(config)
    ingest_snapshot(config, "A", S2, tiny_rows(1))  # older than A's newest snapshot
    ingest_snapshot(config, "Z", S2, [("z1", "WA_READ")])  # newer: Z goes on incrementally
    messages: list[str] = []
    console = Console.silent()
    console.info = messages.append  # type: ignore[method-assign]
    result = build(config, console)
    assert result.campaigns_rebuilt == ["A"]
    assert any("campaign A" in m and "rebuilding" in m for m in messages)
    assert expansion_differences(config) == (0, 0)
    assert stored_differences(config) == NO_STORED_DIFFERENCES
    assert_incremental_equals_full(config, tmp_path)
    a6 = query(
        config, "SELECT state FROM state_history WHERE contact_id = 'a6' ORDER BY valid_from"
    )
    assert a6 == [("read",), ("delivered",)]


def test_removed_snapshots_rebuild_their_campaign(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    metas = [write_snapshot(config, "A", when, tiny_rows(i)) for i, when in enumerate((S1, S2, S3))]
    build_quiet(config)
    store = Store(config.data_dir)
    with store.writer("test") as writer:
        if not hasattr(writer, "commit_changes"):
            pytest.skip("this store cannot remove snapshots")
        writer.commit_changes(reason="retention test", removed=[metas[0]])
    result = build(config, Console.silent())
    assert result.campaigns_rebuilt == ["A"]
    assert query(config, "SELECT count(*) FROM snapshot_log") == [(2,)]
    assert expansion_differences(config) == (0, 0)
    assert stored_differences(config) == NO_STORED_DIFFERENCES
    assert_incremental_equals_full(config, tmp_path)


def test_incomplete_snapshots_are_logged_but_not_counted(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    write_snapshot(config, "A", S1, [("a1", "WA_SENT")])
    write_snapshot(config, "A", S2, [("a1", "WA_READ"), ("a2", "Initial")], complete=False)
    result = build(config, Console.silent())
    assert (result.snapshots_new, result.snapshots_incomplete) == (2, 1)
    assert query(config, "SELECT contacts, reached_read FROM funnel") == [(1, 0)]
    assert query(config, "SELECT count(*) FROM snapshot_log WHERE NOT complete") == [(1,)]
    # a later complete snapshot goes on from S1, as if the incomplete one were not there
    write_snapshot(config, "A", S3, [("a1", "WA_DELIVERED")])
    build_quiet(config)
    assert query(config, "SELECT state, valid_from FROM state_history ORDER BY valid_from") == [
        ("sent", utc(S1)),
        ("delivered", utc(S3)),
    ]


def test_a_contact_twice_in_one_snapshot_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    write_snapshot(config, "A", S1, [("a1", "WA_SENT")])
    build_quiet(config)
    # the store's writer used directly (ingest quarantines such rows): a1 twice
    write_snapshot(config, "A", S2, [("a1", "WA_SENT"), ("a1", "WA_READ"), ("a2", "Initial")])
    with pytest.raises(WarehouseError, match="lists a contact more than once: contact a1"):
        build(config, Console.silent())
    assert query(config, "SELECT count(*) FROM snapshot_log") == [(1,)]  # nothing of it written


def test_ingest_duplicates_are_a_finding(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, [("a1", "WA_SENT"), ("a1", "WA_SENT"), ("a2", "Initial")])
    build_quiet(config)
    assert query(config, "SELECT contacts, duplicate_rows FROM snapshot_log") == [(2, 1)]
    assert query(config, "SELECT check_name, findings FROM data_quality") == [("duplicate_rows", 1)]


def test_small_chunks_give_the_same_warehouse(tmp_path: Path) -> None:
    config = build_tiny_tenant(tmp_path / "data")
    chunked = tmp_path / "chunked.duckdb"
    build(config, Console.silent(), full=True, batch_rows=5)  # about one snapshot per step
    shutil.copyfile(warehouse_file(config), chunked)
    build(config, Console.silent(), full=True)
    assert differences(chunked, warehouse_file(config)) == {}


# ------------------------------------------------------------------------------- analyst copy
HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("BEGIN TRANSACTION")
    before = con.execute("SELECT count(*) FROM snapshot_log").fetchall()[0][0]
    print(before, flush=True)
    sys.stdin.readline()  # hold the connection (and a transaction) open until told to stop
    still = con.execute("SELECT count(*) FROM snapshot_log").fetchall()[0][0]
    con.close()
    fresh = duckdb.connect(sys.argv[1], read_only=True)
    after = fresh.execute("SELECT count(*) FROM snapshot_log").fetchall()[0][0]
    print(still, after, flush=True)
    """
)


def test_an_open_analyst_session_never_fails_a_build(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    analyst = Path(config.data_dir) / WAREHOUSE_DIR / ANALYST_FILE
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(analyst)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "1"
        ingest_snapshot(config, "A", S2, tiny_rows(1))
        build(config, Console.silent(), full=True)  # must not fail while the copy is open
        ingest_snapshot(config, "A", S3, tiny_rows(2))
        build(config, Console.silent())
        holder.stdin.write("go\n")
        holder.stdin.flush()
        # the open session kept its (old) data; a new connection sees the new data
        assert holder.stdout.readline().split() == ["1", "3"]
        assert holder.wait(timeout=GUARD) == 0
    finally:
        if holder.poll() is None:
            holder.kill()


def test_the_analyst_copy_is_read_only(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    con = connect(Path(config.data_dir) / WAREHOUSE_DIR / ANALYST_FILE, read_only=True)
    with pytest.raises(duckdb.Error):
        con.execute("DELETE FROM snapshot_log")
    con.close()


# ------------------------------------------------------------------------------------- errors
def test_a_second_build_is_refused_while_one_runs(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    folder = Path(config.data_dir) / WAREHOUSE_DIR
    folder.mkdir(parents=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(WarehouseBusy, match="another build is running"):
            build(config, Console.silent())
    finally:
        os.close(fd)


def test_a_broken_sql_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    before = query(config, "SELECT count(*) FROM snapshot_log")
    broken = tmp_path / "queries"
    shutil.copytree(queries_dir(), broken)
    (broken / "views" / "funnel.sql").write_text(
        "-- funnel: broken\nCREATE OR REPLACE VIEW funnel AS SELEC 1;\n"
    )
    monkeypatch.setenv(QUERIES_ENV, str(broken))
    ingest_snapshot(config, "A", S2, tiny_rows(1))
    with pytest.raises(QueryError, match=r"funnel\.sql"):
        build(config, Console.silent(), full=True)
    assert query(config, "SELECT count(*) FROM snapshot_log") == before  # nothing published


def test_a_missing_snapshot_file_is_reported(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    meta = write_snapshot(config, "A", S1, tiny_rows(0))
    (Path(config.data_dir) / meta.path).unlink()
    with pytest.raises(WarehouseError, match="missing"):
        build(config, Console.silent())


def test_tiny_tenant_table_is_consistent() -> None:
    # guard for the hand-computed tests: every contact has four entries
    assert all(len(v) == 4 for v in TINY_A.values())


def test_an_erased_contact_leaves_the_warehouse(tmp_path: Path) -> None:
    from pipeline.store.erase import erase_contact

    config = build_tiny_tenant(tmp_path / "data")
    erase_contact(config, Console.silent(), "a1")
    result = build(config, Console.silent())
    assert result.campaigns_rebuilt == ["A"]
    assert query(config, "SELECT count(*) FROM state_history WHERE contact_id = 'a1'") == [(0,)]
    assert query(config, "SELECT contacts FROM funnel WHERE campaign_id = 'A'") == [(6,)]
    assert expansion_differences(config) == (0, 0)
    assert stored_differences(config) == NO_STORED_DIFFERENCES
    assert_incremental_equals_full(config, tmp_path)


def test_a_new_time_zone_rebuilds_the_daily_tables_in_full(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import date

    config = build_tiny_tenant(tmp_path / "data")  # Europe/Prague

    def days_of_a(c: Config) -> list[tuple[date, str]]:
        con = connect(Path(c.data_dir) / WAREHOUSE_DIR / ANALYST_FILE, read_only=True)
        try:
            return con.execute(
                "SELECT day, strftime(snapshot_time, '%d %H:%M') FROM campaign_daily "
                "WHERE campaign_id = 'A' ORDER BY day"
            ).fetchall()
        finally:
            con.close()

    # by hand: S1 22:00 Oct 24 and S2 00:30 Oct 25 in Prague (CEST); S3 23:30 Oct 25 and S4 00:30
    # Oct 26 (CET): the last snapshot of each Prague day is S1, S3, S4
    assert days_of_a(config) == [
        (date(2026, 10, 24), "24 20:00"),
        (date(2026, 10, 25), "25 22:30"),
        (date(2026, 10, 26), "25 23:30"),
    ]
    utc = replace(config, timezone="UTC")
    result = build(utc, Console.silent())
    assert result.full
    assert result.reason == "the time zone changed from Europe/Prague to UTC"
    # in UTC, S1 and S2 are on Oct 24 (S2 last), S3 and S4 on Oct 25 (S4 last)
    assert days_of_a(utc) == [(date(2026, 10, 24), "24 22:30"), (date(2026, 10, 25), "25 23:30")]
    assert stored_differences(utc) == NO_STORED_DIFFERENCES


def test_a_repeat_hidden_by_a_gap_is_refused(tmp_path: Path) -> None:
    # a1 twice in S1 and again in S3, all Sent: three rows spanning positions 1..3, as many as
    # three consecutive snapshots would give, but S2 does not list a1
    config = make_config(tmp_path / "data")
    write_snapshot(config, "A", S1, [("a1", "WA_SENT"), ("a1", "WA_SENT")])
    write_snapshot(config, "A", S2, [("a2", "Initial")])
    write_snapshot(config, "A", S3, [("a1", "WA_SENT")])
    with pytest.raises(WarehouseError, match="more than once: contact a1 of campaign A") as err:
        build(config, Console.silent())
    assert snapshot_id_for("A", utc(S1)) in str(err.value)


def test_a_value_left_and_taken_again_in_one_chunk(tmp_path: Path) -> None:
    # one chunk: a1 Sent, Delivered, Sent, Sent, missing, Sent (runs of Sent at 1, 3-4 and 6)
    config = make_config(tmp_path / "data")
    base = utc(S1)
    states = ["WA_SENT", "WA_DELIVERED", "WA_SENT", "WA_SENT", None, "WA_SENT"]
    times = [base + timedelta(hours=i) for i in range(len(states))]
    for when, state in zip(times, states, strict=True):
        write_snapshot(config, "A", when, [("a2", "Initial")] + ([("a1", state)] if state else []))
    build(config, Console.silent())
    rows = query(
        config,
        "SELECT state, valid_from, valid_to FROM state_history WHERE contact_id = 'a1' "
        "ORDER BY valid_from",
    )
    assert rows == [
        ("sent", times[0], times[1]),
        ("delivered", times[1], times[2]),
        ("sent", times[2], times[4]),
        ("sent", times[5], None),
    ]
    assert expansion_differences(config) == (0, 0)


def test_more_snapshots_of_a_campaign_than_one_chunk_holds(tmp_path: Path) -> None:
    # 130 snapshots of one campaign, a1 changing state every 50: the build cuts them in two
    # chunks (at most MAX_SNAPSHOTS_PER_CAMPAIGN each) and the history is still exact
    config = make_config(tmp_path / "data")
    base = utc(S1)
    count = MAX_SNAPSHOTS_PER_CAMPAIGN + 4
    for i in range(count):
        state = ("WA_SENT", "WA_DELIVERED", "WA_READ")[i // 50]
        write_snapshot(config, "A", base + timedelta(minutes=10 * i), [("a1", state)])
    result = build(config, Console.silent())
    assert result.rows_read == count
    rows = query(config, "SELECT state, valid_from FROM state_history ORDER BY valid_from")
    assert rows == [
        ("sent", base),
        ("delivered", base + timedelta(minutes=500)),
        ("read", base + timedelta(minutes=1000)),
    ]
    assert expansion_differences(config) == (0, 0)
    assert stored_differences(config) == NO_STORED_DIFFERENCES


def test_steps_go_campaign_by_campaign_in_time_order() -> None:
    from pipeline.warehouse.steps import chunks

    # (snapshot_id, campaign_id, time, path, rows, complete), in time order across campaigns
    snaps = [
        (f"{c}{t}", c, t, "", rows, True) for t in range(4) for c, rows in (("B", 5), ("A", 3))
    ]
    steps = [[s[0] for s in chunk] for chunk in chunks(snaps, batch_rows=10)]
    # A's four (3 rows each: at most 10 rows a step), then B's four (5 rows each)
    assert steps == [["A0", "A1", "A2"], ["A3", "B0"], ["B1", "B2"], ["B3"]]
    many = [(f"A{t}", "A", t, "", 1, True) for t in range(MAX_SNAPSHOTS_PER_CAMPAIGN + 1)]
    sizes = [len(chunk) for chunk in chunks(many, batch_rows=10_000)]
    assert sizes == [MAX_SNAPSHOTS_PER_CAMPAIGN, 1]


def test_a_build_stopped_before_the_daily_tables_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.warehouse.steps as wh

    config = make_config(tmp_path / "data", timezone="Europe/Prague")
    ingest_snapshot(config, "A", S1, tiny_rows(0))
    build_quiet(config)
    ingest_snapshot(config, "A", S3, tiny_rows(2))
    real = wh.run_sql_file

    def stop_at_daily(con, name, *args, **kw):  # type: ignore[no-untyped-def]
        if name == "build/daily_step.sql":
            raise QueryError("stopped here (test)")
        return real(con, name, *args, **kw)

    monkeypatch.setattr(wh, "run_sql_file", stop_at_daily)
    with pytest.raises(QueryError, match="stopped here"):
        build(config, Console.silent())
    monkeypatch.setattr(wh, "run_sql_file", real)
    # the history steps were committed, the daily tables not: the next build has no new
    # snapshot and does only the daily step
    result = build(config, Console.silent())
    assert (result.snapshots_new, result.full) == (0, False)
    assert stored_differences(config) == NO_STORED_DIFFERENCES
    assert query(config, "SELECT count(*) FROM campaign_daily WHERE campaign_id = 'A'") == [(2,)]
