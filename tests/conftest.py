"""Shared fixtures: a fresh data directory, a quiet ingest helper, Hypothesis settings, and a
Spark session for the tests marked spark."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pipeline.core.config import Config, IngestConfig
from pipeline.core.console import Console
from pipeline.store.ingest import FileReport, IngestOptions, ingest_files
from pipeline.store.snapshots import Store

# Hypothesis must not time the tests either: no deadline per example, and no failing health
# check when drawing the examples is slow (a busy machine). Tests with their own list of
# suppressed health checks name too_slow themselves.
settings.register_profile(
    "campaign-reports", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("campaign-reports")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def make_config(data_dir: Path, **ingest: object) -> Config:
    return Config(data_dir=data_dir, ingest=IngestConfig(**ingest))  # type: ignore[arg-type]


def ingest(
    data_dir: Path,
    *paths: Path,
    config: Config | None = None,
    console: Console | None = None,
    **opts: object,
) -> list[FileReport]:
    return ingest_files(
        list(paths),
        store=Store(data_dir),
        config=config or make_config(data_dir),
        console=console or Console.silent(),
        options=IngestOptions(**opts),  # type: ignore[arg-type]
    )


def store_listing(data_dir: Path) -> dict[str, str]:
    """Every file of the store with its content hash: the manifest, snapshots and quarantine
    (not the lock, the staging area, or logs/, where rejections are recorded)."""
    out = {}
    for p in sorted(data_dir.rglob("*")):
        rel = p.relative_to(data_dir).as_posix()
        if (
            p.is_file()
            and rel not in (".lock", ".readers.lock")
            and not rel.startswith((".staging", "logs/"))
        ):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session per test module (tests marked ``spark``): two cores, few shuffle
    partitions; the job finds it and leaves it running."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from pipeline.spark.job import session

    settings = {
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
        "spark.sql.sources.parallelPartitionDiscovery.threshold": "1000000",
    }
    with session("local[2]", settings) as active:
        yield active
