"""Geometry of the inline SVG charts. Templates draw it (``reports/_charts.html``).

Only layout is computed here (pixel positions from counts the SQL gave); no metric is derived.
Every chart has a text alternative built from the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.report.model import Funnel, TrendPoint


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str  # class name: the colour comes from the page's CSS (light and dark)
    title: str  # tooltip, also read by screen readers


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"  # start | middle | end
    css: str = ""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    title: str
    description: str
    bars: tuple[Bar, ...] = ()
    labels: tuple[Label, ...] = ()
    lines: tuple[tuple[float, float, float, float, str], ...] = ()  # x1, y1, x2, y2, css
    points: str = ""  # polyline points "x,y x,y" (sparklines)
    dots: tuple[tuple[float, float], ...] = ()


def _r(value: float) -> float:
    return round(value, 1)


#: The narrow variant of a chart: a 390 px phone shows it at about its own size (its container
#: is about 330 px wide there), so that its 13-unit text stays at least 12 CSS px high.
NARROW_WIDTH = 340


def funnel_chart(funnel: Funnel, *, width: int = 760, wide: bool = True) -> Chart:
    """Horizontal bars: contacts, reached Sent, Delivered, Read, on one scale.

    Wide: the stage's name left of its bar, the count after it. Narrow (``NARROW_WIDTH`` units):
    the name and the count on a line of their own above a bar of the full width.
    """
    if not wide:
        width = NARROW_WIDTH
    label_w, row_h, gap, value_w = (140, 28, 10, 150) if wide else (0, 16, 10, 0)
    text_h = 0 if wide else 20
    scale_w = width - label_w - value_w
    top = max((s.count for s in funnel.stages), default=0)
    bars, labels = [], []
    for i, stage in enumerate(funnel.stages):
        y = i * (text_h + row_h + gap)
        w = 0.0 if top == 0 else scale_w * stage.count / top
        share = "n/a" if stage.share_of_contacts is None else f"{stage.share_of_contacts:.1%}"
        value = f"{stage.count:,} · {share}"
        bar_w = _r(max(w, 1.0 if stage.count else 0.0))
        title = f"{stage.label}: {stage.count:,} ({share} of contacts)"
        bars.append(Bar(label_w, y + text_h, bar_w, row_h, f"f-{stage.key}", title))
        if wide:
            labels.append(Label(label_w - 8, y + row_h / 2 + 5, stage.label, "end"))
            labels.append(Label(_r(label_w + w + 6), y + row_h / 2 + 5, value, css="val"))
        else:
            labels.append(Label(0, y + 14, stage.label))
            labels.append(Label(width, y + 14, value, "end", "val"))
    height = len(funnel.stages) * (text_h + row_h + gap) - gap
    alt = "; ".join(f"{s.label} {s.count:,}" for s in funnel.stages)
    return Chart(width, height, "Funnel", alt, tuple(bars), tuple(labels))


def states_chart(
    trend: tuple[TrendPoint, ...],
    states: tuple[tuple[str, str], ...],
    *,
    width: int = 960,
    height: int = 240,
    wide: bool = True,
) -> Chart:
    """Stacked bars, one per day, of the state counts of each day's last snapshot.

    ``states`` is ``(code, label)`` in stacking order (bottom first). A day without a snapshot
    is left empty and labelled as a gap, never drawn as zero. Narrow: ``NARROW_WIDTH`` units
    wide, room for 13-unit text, about four day labels instead of seven.
    """
    if not wide:
        width, height = NARROW_WIDTH, 220
    left, bottom, top_pad = (48, 22, 8) if wide else (54, 26, 10)
    plot_h = height - bottom - top_pad
    n = max(len(trend), 1)
    slot = (width - left) / n
    bar_w = max(slot * 0.8, 1.0)
    top = max((p.contacts or 0 for p in trend), default=0)
    lines, labels = _count_axis(left, width, top_pad, plot_h, top)
    bars: list[Bar] = []
    label_every = max(1, round(n / (7 if wide else 4)))
    for i, point in enumerate(trend):
        x = left + i * slot + (slot - bar_w) / 2
        if (i % label_every == 0 and n - 1 - i >= label_every * 3 / 4) or i == n - 1:
            labels.append(_day_label(x + bar_w / 2, height - 6, point.day, left, width))
        bars.extend(_day_stack(point, states, x, bar_w, top_pad + plot_h, plot_h, top))
    first = trend[0].day if trend else None
    last = trend[-1].day if trend else None
    desc = (
        f"Contacts by state for each day from {_d(first)} to {_d(last)}; the table below has the "
        "same numbers."
    )
    return Chart(width, height, "States over time", desc, tuple(bars), tuple(labels), tuple(lines))


def _day_label(centre: float, y: float, day: date, left: int, width: int) -> Label:
    """A day under its bar ("27.11."), moved inside the chart where the bar is at an edge (the
    label is about 40 units wide at 13 units)."""
    text, half = day.strftime("%d.%m."), 20
    if centre + half > width:
        return Label(width, y, text, "end", "axis")
    if centre - half < left:
        return Label(left, y, text, "start", "axis")
    return Label(_r(centre), y, text, "middle", "axis")


def _count_axis(
    left: int, width: int, top_pad: int, plot_h: int, top: int
) -> tuple[list[tuple[float, float, float, float, str]], list[Label]]:
    """Grid lines and their counts at 0, half and all of ``top`` (the largest day)."""
    lines: list[tuple[float, float, float, float, str]] = []
    labels: list[Label] = []
    for frac in (0.0, 0.5, 1.0):
        y = top_pad + plot_h * (1 - frac)
        lines.append((left, _r(y), width, _r(y), "grid"))
        labels.append(Label(left - 4, _r(y + 4), f"{round(top * frac):,}", "end", "axis"))
    return lines, labels


def _day_stack(
    point: TrendPoint,
    states: tuple[tuple[str, str], ...],
    x: float,
    bar_w: float,
    base: int,
    plot_h: int,
    top: int,
) -> list[Bar]:
    """One day's bar: its states stacked up from ``base``, or a thin gap mark without a
    snapshot."""
    if point.snapshot_time is None or not point.contacts:
        return [Bar(_r(x), base - 2, _r(bar_w), 2, "gap", f"{point.day.isoformat()}: no snapshot")]
    bars = []
    y: float = base
    for code, label in states:
        count = point.states.get(code, 0)
        if not count:
            continue
        h = plot_h * count / top if top else 0
        y -= h
        bars.append(
            Bar(
                _r(x),
                _r(y),
                _r(bar_w),
                _r(max(h, 0.5)),
                f"s-{code}",
                f"{point.day.isoformat()} {label}: {count:,}",
            )
        )
    return bars


def _d(day: date | None) -> str:
    return day.isoformat() if day else "n/a"


def sparkline(
    trend: tuple[TrendPoint, ...],
    *,
    width: int = 150,
    height: int = 30,
    metric: str = "read_of_sent",
) -> Chart:
    """A small line of one value per day (gaps where there was no snapshot), over a baseline
    at 0 (for read of sent) and labelled with its last value at the right."""
    values: list[float | None] = []
    for p in trend:
        v = getattr(p, metric)
        values.append(None if v is None else float(v))
    known = [v for v in values if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    if metric == "read_of_sent":
        lo, hi = 0.0, max(hi, 0.0001)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    line_w = width - 40  # the right 40 units hold the label
    pts, dots = [], []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = _r(2 + (line_w - 4) * i / n)
        y = _r(height - 3 - (height - 6) * (v - lo) / span)
        pts.append(f"{x},{y}")
        dots.append((x, y))
    shown = [
        f"{p.day.strftime('%d.%m.')} {_spark_value(v, metric)}"
        for p, v in zip(trend, values, strict=True)
    ]
    last = dots[-1:] if dots else []
    label = _spark_value(known[-1], metric) if known else "n/a"
    labels = (Label(width - 1, _r(height / 2 + 4), label, "end", "spark"),)
    baseline = ((0.0, float(height - 3), float(line_w), float(height - 3), "spark"),)
    desc = ", ".join(shown[-7:])
    return Chart(
        width, height, "Trend", desc, labels=labels, lines=baseline, points=" ".join(pts),
        dots=tuple(last),
    )  # fmt: skip


def _spark_value(v: float | None, metric: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0%}" if metric == "read_of_sent" else f"{v:,.0f}"
