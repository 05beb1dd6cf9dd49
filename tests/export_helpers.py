"""Shared pieces of the export tests: a fake mluvii server on loopback, a client with recorded
sleeps, a stepping clock, and the expected snapshot of a fake campaign."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipeline.core.catalog import normalize_state
from pipeline.core.config import ApiConfig, Config, Secret
from pipeline.core.console import Console
from pipeline.sources.mluvii_api import MluviiClient
from pipeline.store.export import Exporter, ExportSummary
from pipeline.store.snapshots import SnapshotMeta, Store
from pipeline.testing.server import FakeMluvii
from pipeline.testing.tenant import FakeTenant

CLIENT_ID = "fake-client"
SECRET = "fake-secret"
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
#: The shortest time limit a test sets for requests that should succeed: far longer than a
#: loopback request takes, even on a busy machine. A test of a time limit makes the request that
#: should fail never finish in time (the server stalls, or trickles for ten times as long), so
#: only that one reaches the limit; it waits this long once.
PATIENT = 5.0


class Sleeps:
    """A sleep function that records the waits and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class StepClock:
    """A wall clock that moves one second per call (snapshot times distinct and known)."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start

    def __call__(self) -> datetime:
        value = self.t
        self.t += timedelta(seconds=1)
        return value


class ManualMonotonic:
    """A monotonic clock that a test moves by hand (token lifetimes)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def api_config(fake: FakeMluvii, **overrides: Any) -> ApiConfig:
    values: dict[str, Any] = {
        "base_url": fake.url,
        "client_id": CLIENT_ID,
        "page_size": 100,
        # guards against a hang, never reached by a test that does not set its own
        "connect_timeout": 60.0,
        "read_timeout": 60.0,
        "request_timeout": 120.0,
        "deadline": 300.0,
        "backoff_base": 0.05,
        "backoff_max": 0.4,
    }
    values.update(overrides)
    return ApiConfig(**values)


def make_client(
    fake: FakeMluvii, *, sleep: Any = None, secret: str = SECRET, client_kw: Any = None, **api: Any
) -> MluviiClient:
    return MluviiClient(
        api_config(fake, **api),
        client_id=CLIENT_ID,
        client_secret=Secret(secret),
        sleep=sleep if sleep is not None else Sleeps(),
        **(client_kw or {}),
    )


@dataclass
class Run:
    summary: ExportSummary
    client: MluviiClient
    sleeps: Sleeps
    output: str
    store: Store
    by_id: dict[str, Any] = field(default_factory=dict)

    def result(self, campaign_id: str | int) -> Any:
        return next(r for r in self.summary.results if r.campaign_id == str(campaign_id))


def run_export(
    fake: FakeMluvii,
    data_dir: Path,
    *,
    campaign_ids: list[str] | None = None,
    clock: Any = None,
    sleep: Sleeps | None = None,
    client: MluviiClient | None = None,
    **api: Any,
) -> Run:
    sleeps = sleep or Sleeps()
    client = client or make_client(fake, sleep=sleeps, **api)
    stream = io.StringIO()
    config = Config(data_dir=data_dir, api=client.api)
    store = Store(data_dir)
    try:
        summary = Exporter(client, store, config, Console(stream), clock=clock or StepClock()).run(
            campaign_ids
        )
    finally:
        client.close()
    return Run(summary, client, sleeps, stream.getvalue(), store)


def published(data_dir: Path, campaign_id: str | int) -> list[SnapshotMeta]:
    return [m for m in Store(data_dir).published() if m.campaign_id == str(campaign_id)]


def snapshot_frame(data_dir: Path, meta: SnapshotMeta) -> pl.DataFrame:
    return pl.read_parquet(data_dir / meta.path).sort("contact_id")


def expected_frame(tenant: FakeTenant, campaign_id: int) -> pl.DataFrame:
    """What a perfect export of the campaign shows, computed without the pipeline's polars code."""
    rows = []
    for item in tenant.identities(campaign_id):
        state, legacy = normalize_state(item["state"])
        rows.append(
            {
                "contact_id": str(item["id"]),
                "state": state,
                "raw_state": item["state"],
                "legacy": legacy,
                "created": datetime.fromisoformat(item["created"]).astimezone(UTC),
                "retry_count": item["retryCount"],
                "retry_scheduled": datetime.fromisoformat(item["retryScheduledDate"]).astimezone(
                    UTC
                )
                if item["retryScheduledDate"]
                else None,
            }
        )
    schema = {
        "contact_id": pl.String,
        "state": pl.String,
        "raw_state": pl.String,
        "legacy": pl.Boolean,
        "created": pl.Datetime("us", "UTC"),
        "retry_count": pl.Int32,
        "retry_scheduled": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema).sort("contact_id")


def assert_equals_tenant(data_dir: Path, meta: SnapshotMeta, tenant: FakeTenant) -> None:
    got = snapshot_frame(data_dir, meta)
    want = expected_frame(tenant, int(meta.campaign_id))
    assert got.height == meta.rows == want.height
    assert got.select(want.columns).equals(want), got.select(want.columns).join(
        want, on="contact_id", how="anti"
    )


@pytest.fixture(name="tenant")
def tenant_fixture() -> FakeTenant:
    return FakeTenant(seed=11, sizes=(250, 1200, 40))


@pytest.fixture(name="fake")
def fake_fixture(tenant: FakeTenant) -> Iterator[FakeMluvii]:
    with FakeMluvii(tenant, client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server
