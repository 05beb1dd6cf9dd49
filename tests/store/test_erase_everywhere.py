"""Erase end to end: store, quarantine, warehouse, analyst copy and rendered reports."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from report_helpers import build_tenant, write_csv

from pipeline.core.console import Console
from pipeline.report import render_reports
from pipeline.store.ingest import ingest_files
from pipeline.store.snapshots import Store

VICTIM = "erase-me-7731"
TENANT = {
    "alpha": {
        "20261126T060000Z": [(VICTIM, "WA_SENT"), ("k1", "WA_SENT"), ("k2", "Initial")],
        "20261127T060000Z": [(VICTIM, "WA_READ"), ("k1", "WA_DELIVERED"), ("k2", "CALLING")],
    },
    "beta": {"20261127T070000Z": [(VICTIM, "WA_SEND_FAILED"), ("k3", "WA_READ")]},
}


def decoded_cells(data_dir: Path) -> set[str]:
    """Every string value of every Parquet file and every DuckDB table under the data dir."""
    cells: set[str] = set()
    for p in data_dir.rglob("*.parquet"):
        frame = pl.read_parquet(p)
        for col in frame.columns:
            cells.update(str(v) for v in frame[col].cast(pl.String).drop_nulls().to_list())
    for db in data_dir.rglob("*.duckdb"):
        con = duckdb.connect(str(db), read_only=True)
        try:
            cols = con.execute(
                "SELECT table_name, column_name FROM duckdb_columns() "
                "WHERE NOT internal AND data_type = 'VARCHAR' "
                "AND table_name IN (SELECT table_name FROM duckdb_tables())"
            ).fetchall()
            for table, col in cols:
                cells.update(
                    v
                    for (v,) in con.execute(f'SELECT DISTINCT "{col}" FROM "{table}"').fetchall()
                    if v is not None
                )
        finally:
            con.close()
    return cells


def raw_hits(data_dir: Path) -> list[str]:
    """Files (other than Parquet, checked decoded) whose bytes contain the id."""
    return [
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if p.is_file() and p.suffix != ".parquet" and VICTIM.encode() in p.read_bytes()
    ]


def test_erase_removes_the_contact_from_store_warehouse_and_reports(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    cfg = build_tenant(data_dir, TENANT)
    render_reports(cfg, Console.silent(), start=date(2026, 11, 26), end=date(2026, 11, 27))
    assert VICTIM in decoded_cells(data_dir)
    assert any(h.startswith("reports/") for h in raw_hits(data_dir))  # drill-down CSVs list it

    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--data-dir", str(data_dir),
         "erase", "--contact", VICTIM, "--yes"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "rows removed from 3 snapshot(s)" in proc.stderr

    assert VICTIM not in decoded_cells(data_dir)
    assert raw_hits(data_dir) == []
    # the reports were rendered again without it, and still show the other contacts
    assert (data_dir / "reports" / "2026-11-27" / "index.html").is_file()
    assert (data_dir / "reports" / "2026-11-26" / "index.html").is_file()
    # re-ingesting the old export files does not bring it back
    inbox = tmp_path / "inbox"
    reports = ingest_files(
        sorted(inbox.glob("*.csv")), store=Store(data_dir), config=cfg, console=Console.silent()
    )
    assert all(r.ok for r in reports)
    newer = write_csv(
        inbox / "campaign-alpha_20261128T060000Z.csv", [(VICTIM, "WA_READ"), ("k1", "WA_READ")]
    )
    [r] = ingest_files([newer], store=Store(data_dir), config=cfg, console=Console.silent())
    assert (r.rows_read, r.rows_loaded, r.rows_suppressed) == (2, 1, 1)
    assert VICTIM not in decoded_cells(data_dir)
