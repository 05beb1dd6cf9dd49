"""The by-age views and the projection on a hand-built tenant (tests/age_helpers.py).

Every expected number is worked out by hand from the tenant's counts in the comments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from age_helpers import DAY, build_age_tenant
from report_helpers import build_tenant, query

from pipeline.core.config import Config


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return build_age_tenant(Path(tmp_path_factory.mktemp("age")) / "data")


def projections(cfg: Config, extra: str = "") -> dict[str, dict[str, Any]]:
    rows = query(cfg, f"SELECT * FROM projection(DATE '{DAY.isoformat()}'{extra})")
    assert {r["campaign_id"] for r in rows} == {"run"}  # only the running campaign
    return {str(r["metric"]): r for r in rows}


def test_ages_from_the_api_start_or_the_first_snapshot(cfg: Config) -> None:
    rows = query(
        cfg,
        "SELECT campaign_id, start_source, age_hours, age_bucket_hours, last_in_bucket, "
        "reached_sent, reached_read, read_of_sent, delivered_of_sent "
        "FROM campaign_age ORDER BY campaign_id, snapshot_time",
    )
    got = {(r["campaign_id"], r["age_hours"]): r for r in rows}
    assert {r["start_source"] for r in rows if r["campaign_id"] == "f3"} == {"first_snapshot"}
    assert {r["start_source"] for r in rows if r["campaign_id"] != "f3"} == {"api"}
    # run: started 08:00Z; snapshots 08:00Z, 08:30Z (0.5 h) and the next day 08:00Z (24 h)
    assert [r["age_hours"] for r in rows if r["campaign_id"] == "run"] == [0.0, 0.5, 24.0]
    # 0 h and 0.5 h are both in the first hourly bucket: the later one stands for it
    assert not got[("run", 0.0)]["last_in_bucket"] and got[("run", 0.5)]["last_in_bucket"]
    # f1 at 72 h: 72 >= 48, so 6-hourly: 48 + 6 * floor(24 / 6) = 72
    assert got[("f1", 72.0)]["age_bucket_hours"] == 72
    # f2 at 24 h: 4 Read and 2 Delivered of 10 reached Sent: 4 / 10 and (4 + 2) / 10
    r = got[("f2", 24.0)]
    assert (r["reached_sent"], r["reached_read"]) == (10, 4)
    assert r["read_of_sent"] == pytest.approx(0.4)
    assert r["delivered_of_sent"] == pytest.approx(0.6)


def test_the_age_curve_equals_the_funnel_at_each_snapshot(tmp_path: Path) -> None:
    """On the report tests' tenant (contacts going back in the funnel, vanishing, legacy and
    unknown states), the funnel ever of campaign_age is funnel(as_of) at every snapshot."""
    cfg = build_tenant(tmp_path / "data")
    differ = query(
        cfg,
        "SELECT a.campaign_id, a.snapshot_time FROM campaign_age AS a, LATERAL ("
        "SELECT * FROM funnel(as_of := a.snapshot_time) AS f WHERE f.campaign_id = a.campaign_id"
        ") AS f WHERE (a.reached_sent, a.reached_delivered, a.reached_read) IS DISTINCT FROM "
        "(f.reached_sent, f.reached_delivered, f.reached_read)",
    )
    assert differ == []
    assert query(cfg, "SELECT count(*) AS n FROM campaign_age")[0]["n"] == 8  # 4 + 2 + 1 + 1
    # zero: every contact Initial, nothing reached Sent: both rates are NULL, not 0
    zero = query(cfg, "SELECT * FROM campaign_age WHERE campaign_id = 'zero'")[0]
    assert zero["read_of_sent"] is None and zero["delivered_of_sent"] is None


def test_the_tenant_median_curve_by_age(cfg: Config) -> None:
    rows = query(cfg, "SELECT * FROM campaign_age_median ORDER BY age_bucket_hours")
    got = {r["age_bucket_hours"]: r for r in rows}
    assert list(got) == [0, 24, 72]
    # bucket 0: f1 0.0, f2 0.1, f3 0.0, run 0.1 (its 0.5 h snapshot, the last in the bucket):
    # sorted 0, 0, 0.1, 0.1 -> median (0 + 0.1) / 2 = 0.05, four campaigns
    assert got[0]["median_read_of_sent"] == pytest.approx(0.05)
    assert got[0]["read_campaigns"] == 4
    # bucket 24: 0.2, 0.4, 0.2, 0.3 -> sorted 0.2, 0.2, 0.3, 0.4 -> (0.2 + 0.3) / 2 = 0.25
    assert got[24]["median_read_of_sent"] == pytest.approx(0.25)
    # delivered of sent at 24 h: 0.5, 0.6, 0.4, 0.4 -> sorted 0.4, 0.4, 0.5, 0.6 -> 0.45
    assert got[24]["median_delivered_of_sent"] == pytest.approx(0.45)
    # bucket 72: only the finished ones: 0.4, 0.6, 0.5 -> 0.5, three campaigns
    assert got[72]["median_read_of_sent"] == pytest.approx(0.5)
    assert got[72]["read_campaigns"] == 3
    # as of before run started, its points are not there: bucket 24 stands on f1, f2, f3 only
    # (0.2, 0.4, 0.2 -> 0.2)
    early = query(
        cfg,
        "SELECT * FROM campaign_age_median(as_of := TIMESTAMPTZ '2026-11-19 00:00:00Z') "
        "WHERE age_bucket_hours = 24",
    )[0]
    assert (early["median_read_of_sent"], early["read_campaigns"]) == (pytest.approx(0.2), 3)


def test_projection_and_its_track_record(cfg: Config) -> None:
    got = projections(cfg)
    read = got["read_of_sent"]
    # run is 24 h old with read of sent 3 / 10 = 0.3. The finished campaigns at 24 h and final:
    #   f1 0.2 -> 0.4 (ratio 2.0), f2 0.4 -> 0.6 (1.5), f3 0.2 -> 0.5 (2.5)
    # sorted ratios 1.5, 2.0, 2.5: median 2.0 -> projected 0.3 * 2.0 = 0.6
    # 10th percentile: position 0.1 * (3 - 1) = 0.2 -> 1.5 + 0.2 * (2.0 - 1.5) = 1.6 -> 0.48
    # 90th percentile: position 1.8 -> 2.0 + 0.8 * (2.5 - 2.0) = 2.4 -> 0.72
    assert read["shown"] and read["age_hours"] == 24.0 and read["reference_campaigns"] == 3
    assert read["current_value"] == pytest.approx(0.3)
    assert read["median_ratio"] == pytest.approx(2.0)
    assert read["projected"] == pytest.approx(0.6)
    assert read["projected_low"] == pytest.approx(0.48)
    assert read["projected_high"] == pytest.approx(0.72)
    # leave one out, each finished campaign projected at 24 h from the other two:
    #   f1: median(1.5, 2.5) = 2.0  -> 0.2 * 2.0  = 0.40, final 0.4: error  0 pp
    #   f2: median(2.0, 2.5) = 2.25 -> 0.4 * 2.25 = 0.90, final 0.6: error 30 pp
    #   f3: median(2.0, 1.5) = 1.75 -> 0.2 * 1.75 = 0.35, final 0.5: error 15 pp
    # median of 0, 30, 15 = 15 pp; largest 30 pp
    assert read["backtest_campaigns"] == 3
    assert read["backtest_median_abs_error_pp"] == pytest.approx(15.0)
    assert read["backtest_max_abs_error_pp"] == pytest.approx(30.0)
    assert read["reason"] == "from 3 finished campaign(s) at the same age"


def test_delivered_of_sent_is_projected_the_same_way(cfg: Config) -> None:
    dos = projections(cfg)["delivered_of_sent"]
    # run at 24 h: (3 + 1) / 10 = 0.4. f1 0.5 -> 0.8 (1.6), f2 0.6 -> 0.9 (1.5), f3 0.4 -> 0.8
    # (2.0). Sorted 1.5, 1.6, 2.0: median 1.6 -> 0.64; 10th: 1.5 + 0.2 * 0.1 = 1.52 -> 0.608;
    # 90th: 1.6 + 0.8 * 0.4 = 1.92 -> 0.768
    assert dos["projected"] == pytest.approx(0.64)
    assert dos["projected_low"] == pytest.approx(0.608)
    assert dos["projected_high"] == pytest.approx(0.768)
    # leave one out: f1 median(1.5, 2.0) = 1.75 -> 0.875 vs 0.8: 7.5 pp; f2 median(1.6, 2.0) =
    # 1.8 -> 1.08, capped at 1.0 vs 0.9: 10 pp; f3 median(1.6, 1.5) = 1.55 -> 0.62 vs 0.8: 18 pp
    # median 10 pp
    assert dos["backtest_median_abs_error_pp"] == pytest.approx(10.0)
    assert dos["backtest_max_abs_error_pp"] == pytest.approx(18.0)


def test_no_projection_below_the_minimum(cfg: Config) -> None:
    got = projections(cfg, ", min_campaigns := 4")
    for row in got.values():
        assert not row["shown"] and row["reference_campaigns"] == 3
        assert row["projected"] is None and row["projected_low"] is None
        assert row["backtest_median_abs_error_pp"] is None
        assert row["reason"] == "3 finished campaign(s) with a value at this age; at least 4 needed"


def test_nothing_to_project_before_the_campaign_has_data(cfg: Config) -> None:
    # the day before run's first snapshot it is not there at all
    assert query(cfg, "SELECT * FROM projection(DATE '2026-11-19')") == []


def test_the_views_and_their_columns_explain_themselves(cfg: Config) -> None:
    views = {
        r["view_name"]: r["comment"]
        for r in query(cfg, "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal")
    }
    for name in ("campaign_age", "campaign_age_median", "projection"):
        assert views.get(name), name
    missing = query(
        cfg,
        "SELECT table_name, column_name FROM duckdb_columns() WHERE comment IS NULL "
        "AND table_name IN ('campaign_age', 'campaign_age_median', 'projection')",
    )
    assert missing == []
