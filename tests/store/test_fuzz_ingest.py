"""Fuzz: a few hundred broken files from a fixed seed (``pipeline.testing.mutations``), ingested
together. Each ends in a load with exact accounting or a clear rejection; none stops the others,
none ends in an unexpected error, and no message or log quotes row content. The larger run is
``bench/fuzz_bench.py``."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from conftest import ingest

from pipeline.core.errors import IngestError
from pipeline.store.snapshots import Store
from pipeline.testing.mutations import mutants

SEED = 16
COUNT = 300
#: what the generator puts in rows: ids 2262000000.. and phone numbers +42060xxxxxxx
ROW_CONTENT = re.compile(r"22620\d{5}|\+42060\d{7}|42060\d{7}")


def write_mutants(folder: Path) -> list[tuple[str, Path]]:
    start = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    out = []
    for n, (kind, suffix, data) in enumerate(mutants(SEED, COUNT)):
        # one snapshot time per file (campaign F, n minutes after 06:00): no two files conflict
        when = start + timedelta(minutes=n)
        path = folder / f"campaign-F_{when:%Y%m%dT%H%M%S}Z{suffix}"
        path.write_bytes(data)
        out.append((kind, path))
    return out


def test_every_mutated_file_loads_with_exact_accounting_or_is_rejected_clearly(
    tmp_path: Path, data_dir: Path
) -> None:
    files = write_mutants(tmp_path)
    reports = ingest(data_dir, *(p for _, p in files))
    assert len(reports) == COUNT
    outcomes: Counter[str] = Counter()
    for (kind, path), r in zip(files, reports, strict=True):
        if r.ok:
            assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_suppressed, path
            outcomes["loaded"] += 1
        else:
            assert isinstance(r.error, IngestError), (kind, r.error)
            message = str(r.error)
            assert "\n" not in message and "Traceback" not in message, (kind, message)
            # the catch-all for an unexpected failure: the fuzz must not reach it
            assert "could not be read (" not in message, (kind, message)
            assert not ROW_CONTENT.search(message), (kind, message)
            outcomes["rejected"] += 1
    assert outcomes["loaded"] > 0 and outcomes["rejected"] > 0, outcomes
    # what the store holds is exactly what the reports say was loaded
    loaded = sum(r.rows_loaded for r in reports if r.ok and r.published)
    stored = pl.read_delta(str(data_dir / "snapshots")).height if Store(data_dir).published() else 0
    assert stored == loaded
    log = (data_dir / "logs" / "loads.jsonl").read_text(encoding="utf-8")
    assert log.count("\n") == COUNT  # every file is in the load log, rejected ones too
    assert not ROW_CONTENT.search(log)
