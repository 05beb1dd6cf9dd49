"""Shared fixtures: a fresh data directory and a quiet ingest helper; Hypothesis settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
        if p.is_file() and rel != ".lock" and not rel.startswith((".staging", "logs/")):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
