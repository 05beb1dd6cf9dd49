"""Campaigns side by side by age, and where a running campaign will end: the page objects and
their loading from the warehouse (``report_by_age``, ``report_age_median``, ``projection``).

As in ``data``, the values are moved, never computed: the SQL gives every rate, median,
projection and error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import duckdb

from pipeline.core.errors import QueryError
from pipeline.report.queries import Row, rows

#: The session's temporary copy of the view campaign_age (the curves are computed once per
#: report, however many days it renders; see campaign_age_upto in queries/views/campaign_age.sql).
AGE_CACHE = "report_age_cache"

#: The two rates drawn against age, in the pages' words.
AGE_METRICS: tuple[tuple[str, str], ...] = (
    ("read_of_sent", "Read of sent"),
    ("delivered_of_sent", "Delivered of sent"),
)


@dataclass(frozen=True)
class AgePoint:
    """A campaign's last snapshot in one age bucket."""

    bucket_hours: int  # the bucket's first hour (hourly < 48 h, 6-hourly < 168 h, then daily)
    age_hours: float  # hours from the campaign's start to the snapshot
    snapshot_time: datetime
    reached_sent: int
    reached_delivered: int
    reached_read: int
    read_of_sent: float | None
    delivered_of_sent: float | None

    def value(self, metric: str) -> float | None:
        return self.read_of_sent if metric == "read_of_sent" else self.delivered_of_sent


@dataclass(frozen=True)
class AgeSeries:
    """One campaign's curve by age."""

    campaign_id: str
    title: str
    start_time: datetime
    start_source: str  # api (the API's started time) or first_snapshot
    start_day: date  # the local day of the start
    points: tuple[AgePoint, ...]

    @property
    def age_hours(self) -> float:
        return self.points[-1].age_hours if self.points else 0.0


@dataclass(frozen=True)
class MedianPoint:
    """The tenant's median at one age bucket, and the campaigns behind it."""

    bucket_hours: int
    read_of_sent: float | None
    read_campaigns: int
    delivered_of_sent: float | None
    delivered_campaigns: int

    def value(self, metric: str) -> float | None:
        return self.read_of_sent if metric == "read_of_sent" else self.delivered_of_sent

    def campaigns(self, metric: str) -> int:
        return self.read_campaigns if metric == "read_of_sent" else self.delivered_campaigns


@dataclass(frozen=True)
class Projection:
    """A running campaign's projected final rate (view ``projection``)."""

    metric: str
    label: str
    age_hours: float
    current: float | None
    references: int  # finished campaigns with a value at this age
    min_campaigns: int
    shown: bool
    projected: float | None
    low: float | None  # 10th percentile of the ratios applied
    high: float | None  # 90th percentile
    backtest_campaigns: int
    backtest_median_error_pp: float | None
    backtest_max_error_pp: float | None
    reason: str


@dataclass(frozen=True)
class AgeData:
    """Every campaign's curve by age, the tenant's median curve and the projections of one
    report day."""

    series: tuple[AgeSeries, ...] = ()
    median: tuple[MedianPoint, ...] = ()
    projections: tuple[tuple[str, tuple[Projection, ...]], ...] = ()

    def of(self, campaign_id: str) -> AgeSeries | None:
        return next((s for s in self.series if s.campaign_id == campaign_id), None)

    def projection(self, campaign_id: str) -> tuple[Projection, ...]:
        return next((p for cid, p in self.projections if cid == campaign_id), ())

    def median_at(self, bucket_hours: int) -> MedianPoint:
        """The median of one age bucket (every bucket of a campaign's curve has one: the
        campaign itself is among the campaigns behind it)."""
        return self._median_by_bucket[bucket_hours]

    @cached_property
    def _median_by_bucket(self) -> dict[int, MedianPoint]:
        return {m.bucket_hours: m for m in self.median}

    def median_until(self, hours: float) -> tuple[MedianPoint, ...]:
        """The median curve up to the bucket of ``hours`` (a campaign's own age)."""
        return tuple(m for m in self.median if m.bucket_hours <= hours)

    @property
    def projected(self) -> tuple[tuple[AgeSeries, tuple[Projection, ...]], ...]:
        """The campaigns with a projection row, with their curve, in the series' order."""
        return tuple((s, self.projection(s.campaign_id)) for s in self.series
                     if self.projection(s.campaign_id))  # fmt: skip


def load_by_age(
    con: duckdb.DuckDBPyConnection, day: date, tz: str, names: dict[str, str]
) -> AgeData:
    """The day's curves by age, median curve and projections."""
    cache_ages(con)
    found: dict[str, list[Row]] = {}
    for r in rows(con, "SELECT * FROM report_by_age(?, tz := ?, ages := ?)", [day, tz, AGE_CACHE]):
        found.setdefault(r["campaign_id"], []).append(r)
    series = tuple(_series(cid, rs, names.get(cid) or cid) for cid, rs in found.items())
    median = tuple(
        MedianPoint(
            m["age_bucket_hours"], m["median_read_of_sent"], m["read_campaigns"],
            m["median_delivered_of_sent"], m["delivered_campaigns"],
        )
        for m in rows(
            con, "SELECT * FROM report_age_median(?, tz := ?, ages := ?)", [day, tz, AGE_CACHE]
        )
    )  # fmt: skip
    return AgeData(series, median, _projections(con, day, tz))


def cache_ages(con: duckdb.DuckDBPyConnection) -> None:
    """Copy the view campaign_age into a temporary table once per session (the warehouse stays
    read-only); the report macros read it through their ``ages`` parameter."""
    try:
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {AGE_CACHE} AS SELECT * FROM campaign_age")
    except duckdb.Error as exc:
        raise QueryError(
            f"campaign_age failed: {exc}. If it is missing, the warehouse predates this "
            "version: run `campaign-reports build`."
        ) from exc


def _series(cid: str, found: list[Row], title: str) -> AgeSeries:
    first = found[0]
    points = tuple(
        AgePoint(
            r["age_bucket_hours"], r["age_hours"], r["snapshot_time"], r["reached_sent"],
            r["reached_delivered"], r["reached_read"], r["read_of_sent"], r["delivered_of_sent"],
        )
        for r in found
    )  # fmt: skip
    return AgeSeries(
        cid, title, first["start_time"], first["start_source"], first["start_day"], points
    )


def _projections(
    con: duckdb.DuckDBPyConnection, day: date, tz: str
) -> tuple[tuple[str, tuple[Projection, ...]], ...]:
    labels = dict(AGE_METRICS)
    out: dict[str, list[Projection]] = {}
    for r in rows(
        con,
        "SELECT * FROM projection(day := ?, tz := ?, ages := ?) "
        "ORDER BY campaign_id, metric = 'delivered_of_sent'",
        [day, tz, AGE_CACHE],
    ):
        out.setdefault(r["campaign_id"], []).append(
            Projection(
                r["metric"], labels[r["metric"]], r["age_hours"], r["current_value"],
                r["reference_campaigns"], r["min_campaigns"], r["shown"], r["projected"],
                r["projected_low"], r["projected_high"], r["backtest_campaigns"],
                r["backtest_median_abs_error_pp"], r["backtest_max_abs_error_pp"], r["reason"],
            )
        )  # fmt: skip
    return tuple((cid, tuple(p)) for cid, p in out.items())
