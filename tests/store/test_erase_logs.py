"""`erase` removes the contact from every log it can be in (an older version's messages quoted
row content): logs/loads.jsonl, logs/runs.jsonl and the run_log tables of both DuckDB files."""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import ingest
from warehouse_helpers import build_quiet, make_config

from pipeline.cli.main import main
from pipeline.core.durable import JsonlLog
from pipeline.store.loads import LOADS, LoadLog
from pipeline.store.runlog import RunLog, RunRecord
from pipeline.warehouse.db import warehouse_paths

CONTACT = "zq7731"


def test_erase_cleans_the_logs_and_both_duckdb_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = make_config(data)
    f = tmp_path / "campaign-5_20261128T060000Z.csv"
    f.write_text(f"contact_id,state\n{CONTACT},WA_READ\nother1,WA_SENT\n", encoding="utf-8")
    assert ingest(data, f)[0].ok
    # what an older version wrote: its error messages quoted the row
    LoadLog(data).append(
        {"file": str(f), "status": "rejected", "error": f"could not parse `{CONTACT},WA_READ`"}
    )
    at = "2026-11-28T06:00:00Z"
    RunLog(data).append(
        RunRecord("ingest", "ingest", at, at, at, at, "failed", error=f"row `{CONTACT},x` is bad")
    )
    build_quiet(config)
    try:
        main(["--data-dir", str(data), "erase", "--contact", CONTACT, "--yes"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    for log in (data / LOADS, data / "logs" / "runs.jsonl"):
        text = log.read_text(encoding="utf-8")
        assert CONTACT not in text and "[erased contact]" in text
        assert len(JsonlLog(log).read()) == len(text.splitlines())  # every line still whole
    # the run log's other facts stay: one failed ingest run
    [run] = RunLog(data).records()
    assert (run.kind, run.status) == ("ingest", "failed")
    for path in warehouse_paths(config):
        assert CONTACT.encode() not in path.read_bytes(), path
        con = duckdb.connect(str(path), read_only=True)
        try:
            [(hits,)] = con.execute(
                "SELECT count(*) FROM run_log WHERE CAST(error AS VARCHAR) LIKE ?",
                [f"%{CONTACT}%"],
            ).fetchall()
            [(runs,)] = con.execute("SELECT count(*) FROM run_log").fetchall()
        finally:
            con.close()
        assert (hits, runs) == (0, 1)
