"""The analyst views funnel, campaign_daily and state_counts name each campaign: a
``campaign_name`` column (their last) from the table campaigns, NULL where the store knows no
name; the other columns keep their order."""

from __future__ import annotations

from pathlib import Path

from warehouse_helpers import build_quiet, ingest_snapshot, make_config, query

from pipeline.store.snapshots import Store
from pipeline.store.writer import Writer


def test_views_carry_the_campaign_name_or_null(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    ingest_snapshot(config, "A", "2026-11-27T08:00:00Z", [("1", "WA_READ"), ("2", "WA_SENT")])
    ingest_snapshot(config, "B", "2026-11-27T08:00:00Z", [("1", "WA_SENT")])
    Writer(Store(config.data_dir)).record_campaigns({"A": {"name": "Winter promo"}})
    build_quiet(config)
    for view in ("funnel", "campaign_daily", "state_counts"):
        cols = [r[0] for r in query(config, f"DESCRIBE {view}")]
        assert cols[0] == "campaign_id" and cols[-1] == "campaign_name", view
        names = set(query(config, f"SELECT DISTINCT campaign_id, campaign_name FROM {view}"))
        assert names == {("A", "Winter promo"), ("B", None)}, view
    # one row per campaign in funnel still (the name does not multiply rows)
    assert query(config, "SELECT count(*) FROM funnel") == [(2,)]
    # state_counts: 13 rows per snapshot, as before
    assert query(config, "SELECT count(*) FROM state_counts") == [(26,)]
