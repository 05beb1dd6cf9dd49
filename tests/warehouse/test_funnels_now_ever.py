"""Two funnels, never confused: now_reached_* (the contacts' current states, rolled up) and
reached_* (the furthest stage each contact ever reached), per snapshot (funnel) and per day
(campaign_daily).

Campaign F (Europe/Prague): F1 2026-11-02 09:00Z, F2 2026-11-02 15:00Z (end of 11-02),
F3 2026-11-03 09:00Z (end of 11-03).
  f1  WA_READ   WA_DELIVERED        WA_DELIVERED        read, then back to delivered
  f2  WA_SENT   WA_DELIVERED        WA_READ
  f3  INITIAL   WA_DELIVERY_FAILED  WA_DELIVERY_FAILED  (delivery failed counts as sent)
  f4  WA_SENT   WA_SENT             REMOVED

By hand (sent, delivered, read):
  F1  now: f1 f2 f4 sent, f1 delivered, f1 read = (3, 1, 1); ever the same (3, 1, 1)
  F2  now: f1 f2 f3 f4 / f1 f2 / none = (4, 2, 0); ever: f1 has read before = (4, 2, 1)
  F3  now: f1 f2 f3 (f4 Removed) / f1 f2 / f2 = (3, 2, 1); ever: f4 was sent = (4, 2, 2)
  rates at F3: now delivery 2/3, read 1/2, read of sent 1/3; ever 2/4, 2/2, 2/4.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from warehouse_helpers import build_quiet, ingest_snapshot, make_config, query, utc

from pipeline.core.config import Config

F = ("2026-11-02T09:00:00+00:00", "2026-11-02T15:00:00+00:00", "2026-11-03T09:00:00+00:00")
RAW = {
    "f1": ("WA_READ", "WA_DELIVERED", "WA_DELIVERED"),
    "f2": ("WA_SENT", "WA_DELIVERED", "WA_READ"),
    "f3": ("INITIAL", "WA_DELIVERY_FAILED", "WA_DELIVERY_FAILED"),
    "f4": ("WA_SENT", "WA_SENT", "REMOVED"),
}
NOW = "now_reached_sent, now_reached_delivered, now_reached_read"
EVER = "reached_sent, reached_delivered, reached_read"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    config = make_config(tmp_path_factory.mktemp("funnels") / "data", timezone="Europe/Prague")
    for i, when in enumerate(F):
        ingest_snapshot(config, "F", when, [(c, raw[i]) for c, raw in RAW.items()])
    build_quiet(config)
    yield config


def test_per_snapshot(tenant: Config) -> None:
    got = [query(tenant, f"SELECT {NOW}, {EVER} FROM funnel(as_of := ?)", [utc(t)])[0] for t in F]
    assert got == [(3, 1, 1, 3, 1, 1), (4, 2, 0, 4, 2, 1), (3, 2, 1, 4, 2, 2)]


def test_per_day(tenant: Config) -> None:
    got = query(tenant, f"SELECT day, {NOW}, {EVER} FROM campaign_daily ORDER BY day")
    assert got == [
        (date(2026, 11, 2), 4, 2, 0, 4, 2, 1),
        (date(2026, 11, 3), 3, 2, 1, 4, 2, 2),
    ]


def test_rates_of_each_funnel(tenant: Config) -> None:
    rates = (
        "now_delivery_rate, now_read_rate, now_read_of_sent, delivery_rate, read_rate, read_of_sent"
    )
    for source in ("funnel", "campaign_daily WHERE day = DATE '2026-11-03'"):
        got = query(tenant, f"SELECT {rates} FROM {source}")
        assert got == [(2 / 3, 1 / 2, 1 / 3, 2 / 4, 2 / 2, 2 / 4)], source


def test_the_column_comments_say_which_funnel(tenant: Config) -> None:
    comments = dict(
        query(
            tenant,
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'funnel' "
            "AND column_name IN ('reached_read', 'now_reached_read')",
        )
    )
    assert "ever" in comments["reached_read"]
    assert comments["now_reached_read"].startswith("Funnel now")
