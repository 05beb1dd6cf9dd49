"""Geometry of the line charts by age (``reports/_line_chart.html`` draws them).

Rates (0 to 100 %) against hours since a campaign's start. Each chart is made in two widths: a
wide one for desktops and a narrow one (at most 340 units wide) that a 390 px phone shows at
about its own size, so that its 13-unit text stays at least 11 CSS px high (``report.css``
shows one or the other). Only positions are computed here; every value comes from the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.report.by_age import AgeData, AgeSeries
from pipeline.report.charts import Label

#: Hours between ticks of the age axis, the smallest that gives few enough ticks.
TICK_STEPS = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 1440)
#: Colour classes of the campaigns' lines (report.css), reused in turn.
PALETTE = 8
WIDE = (760, 280)
NARROW = (340, 230)

Curve = tuple[str, str, str, Sequence[tuple[float, float | None]]]  # key, label, css, points


@dataclass(frozen=True)
class Series:
    """One line: a campaign's curve (or the median), broken where a value is n/a."""

    key: str  # campaign id, or median
    label: str
    css: str
    segments: tuple[str, ...]  # polyline points "x,y x,y"
    dots: tuple[tuple[float, float], ...]  # lone points and the line's last point


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    title: str
    description: str
    lines: tuple[tuple[float, float, float, float, str], ...]
    labels: tuple[Label, ...]
    series: tuple[Series, ...]


def _r(value: float) -> float:
    return round(value, 1)


def hours_label(hours: float) -> str:
    """An age on the axis: hours below two days, then whole days."""
    h = int(hours)
    return f"{h // 24} d" if h >= 48 and h % 24 == 0 else f"{h} h"


def line_chart(
    curves: Sequence[Curve], *, title: str, description: str, max_hours: float, wide: bool
) -> LineChart:
    """Rates against hours since start, one line per curve, on 0..100 % and 0..max_hours."""
    width, height = WIDE if wide else NARROW
    left, right, top, bottom = 46, 14, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max(max_hours, 1.0)

    def xy(hours: float, value: float) -> tuple[float, float]:
        return _r(left + plot_w * hours / span), _r(top + plot_h * (1 - value))

    lines: list[tuple[float, float, float, float, str]] = []
    labels: list[Label] = []
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0) if wide else (0.0, 0.5, 1.0):
        y = _r(top + plot_h * (1 - frac))
        lines.append((left, y, width - right, y, "grid"))
        labels.append(Label(left - 5, _r(y + 4), f"{round(frac * 100)}\u00a0%", "end", "axis"))
    step = next(s for s in TICK_STEPS if span / s <= (6 if wide else 3) or s == TICK_STEPS[-1])
    base = top + plot_h
    for i in range(int(span // step) + 1):
        x, _ = xy(i * step, 0)
        lines.append((x, base, x, base + 4, "tick"))
        labels.append(Label(x, base + 17, hours_label(i * step), "middle", "axis"))
    labels.append(Label(_r(left + plot_w / 2), height - 4, "hours since start", "middle", "axis"))
    series = tuple(_series(key, label, css, pts, xy) for key, label, css, pts in curves)
    return LineChart(width, height, title, description, tuple(lines), tuple(labels), series)


def _series(
    key: str,
    label: str,
    css: str,
    pts: Sequence[tuple[float, float | None]],
    xy: Callable[[float, float], tuple[float, float]],
) -> Series:
    segments: list[list[tuple[float, float]]] = [[]]
    for hours, value in pts:
        if value is None:
            segments.append([])
        else:
            segments[-1].append(xy(hours, value))
    kept = [s for s in segments if s]
    dots = [s[0] for s in kept if len(s) == 1]
    if kept and len(kept[-1]) > 1:
        dots.append(kept[-1][-1])
    return Series(
        key,
        label,
        css,
        tuple(" ".join(f"{x},{y}" for x, y in s) for s in kept),
        tuple(dots),
    )


def colour(i: int) -> str:
    return f"age-c{i % PALETTE}"


def overview_age_chart(ages: AgeData, metric: str, label: str, wide: bool) -> LineChart:
    """Every campaign's ``metric`` against its age."""
    curves = [
        (s.campaign_id, s.title, colour(i), [(p.age_hours, p.value(metric)) for p in s.points])
        for i, s in enumerate(ages.series)
    ]
    oldest = max((s.age_hours for s in ages.series), default=0.0)
    desc = (
        f"{label} of {len(curves)} campaign(s) against hours since each one's start, up to "
        f"{hours_label(oldest)}; the table below has the same numbers."
    )
    return line_chart(
        curves, title=f"{label} by age", description=desc, max_hours=oldest, wide=wide
    )


def campaign_age_chart(ages: AgeData, series: AgeSeries, wide: bool) -> LineChart:
    """A campaign's read of sent and delivered of sent over its own life, each beside the
    tenant's median at the same age (dashed), on an axis that ends at the campaign's age."""
    median = ages.median_until(series.age_hours)
    curves: list[Curve] = []
    for i, (metric, label) in enumerate(
        (("read_of_sent", "Read of sent"), ("delivered_of_sent", "Delivered of sent"))
    ):
        own = [(p.age_hours, p.value(metric)) for p in series.points]
        med = [(float(m.bucket_hours), m.value(metric)) for m in median]
        curves.append((metric, f"{label}, this campaign", colour(i), own))
        curves.append((f"median_{metric}", f"{label}, tenant median", f"{colour(i)} median", med))
    desc = (
        f"Read of sent and delivered of sent of this campaign over its first "
        f"{hours_label(series.age_hours)}, each beside the tenant's median at the same age "
        "(dashed); the table below has the same numbers."
    )
    return line_chart(
        curves,
        title="Rates by age",
        description=desc,
        max_hours=series.age_hours,
        wide=wide,
    )
