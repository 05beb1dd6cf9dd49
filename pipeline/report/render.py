"""HTML rendering: the one Jinja ``Environment``, its filters, and safe file writing.

The environment autoescapes everything and uses ``StrictUndefined``; filters and globals are
registered here and nowhere else. Each page is one self-contained file: the CSS is inlined and
allowed by its hash in the page's Content-Security-Policy, charts are inline SVG, and nothing is
loaded from the network.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from pipeline import __version__
from pipeline.core.csvsafe import neutralise_cell, neutralise_expr
from pipeline.core.resources import resource_dir
from pipeline.report import age_charts, charts
from pipeline.report.by_age import AGE_METRICS
from pipeline.report.model import STAGE_DEFINITIONS, StateCount

#: The folder of templates and CSS, at the project root (next to ``queries/``).
TEMPLATES_DIR = resource_dir("reports")

#: Stacking order and colour classes of the states in charts (bottom first).
STATE_ORDER = (
    "read",
    "delivered",
    "sent",
    "delivery_failed",
    "sending_failed",
    "error",
    "in_progress",
    "retry_scheduled",
    "initial",
    "invalid_record",
    "removed",
    "canceled_by_admin",
    "other",
)


def stacking(states: Sequence[StateCount]) -> list[tuple[str, str]]:
    """``(code, label)`` of the states present, in chart stacking order."""
    present = {s.code: s.label for s in states}
    return [(code, present[code]) for code in STATE_ORDER if code in present]


# ------------------------------------------------------------------------------------- filters
def fmt_int(value: int | None) -> str:
    """12345 -> "12,345"; None -> "n/a"."""
    return "n/a" if value is None else f"{value:,}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """0.1234 -> "12.3 %"; None (zero denominator) -> "n/a"."""
    return "n/a" if value is None else f"{value * 100:.{digits}f}\u00a0%"


def fmt_signed(value: int | None) -> str:
    """A change: +12, \u22123 (a real minus sign), ±0; None -> "n/a" (no data the day before)."""
    if value is None:
        return "n/a"
    if value == 0:
        return "±0"
    return f"+{value:,}" if value > 0 else f"\u2212{-value:,}"


def fmt_pp(value: float | None) -> str:
    """A change of a rate in percentage points: +1.2 pp."""
    if value is None:
        return "n/a"
    pts = value * 100
    if round(pts, 1) == 0:
        return "±0.0\u00a0pp"
    return (f"+{pts:.1f}" if pts > 0 else f"\u2212{-pts:.1f}") + "\u00a0pp"


def change_class(value: float | None) -> str:
    if value is None or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


def make_time_filters(tz_name: str) -> dict[str, Any]:
    tz = ZoneInfo(tz_name)

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
        if value is None:
            return "n/a"
        return value.astimezone(tz).strftime(fmt)

    def utctime(value: datetime | None) -> str:
        if value is None:
            return "n/a"
        return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"localtime": localtime, "utctime": utctime}


#: What the pages call each lifecycle (campaign_lifecycle) and state category, never the code.
LIFECYCLE_LABELS = {
    "running": "Running",
    "finished": "Finished",
    "canceled": "Canceled by admin",
    "stale": "Stale",
    "unknown": "Unknown",
}
CATEGORY_LABELS = {
    "pending": "Pending",
    "in_funnel": "In the funnel",
    "failed": "Failed",
    "excluded": "Excluded",
    "other": "Not in the catalog",
}


def lifecycle_label(code: str | None) -> str:
    return LIFECYCLE_LABELS.get(code or "unknown", (code or "unknown").replace("_", " "))


def category_label(code: str) -> str:
    return CATEGORY_LABELS.get(code, code.replace("_", " "))


def state_name(label: str, code: str) -> str:
    """A state's label where funnel stages appear beside it: the state Sent is "Sent (state)",
    never to be read as the funnel stage "reached Sent"."""
    return f"{label} (state)" if code == "sent" else label


def iso_day(value: date | None) -> str:
    return "n/a" if value is None else value.isoformat()


# --------------------------------------------------------------------------------- environment
@cache
def css_text() -> str:
    return (TEMPLATES_DIR / "report.css").read_text(encoding="utf-8")


@cache
def sort_js() -> str:
    return (TEMPLATES_DIR / "sort.js").read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"
    )


def csp_for(style: str, script: str | None = None) -> str:
    """The page's Content-Security-Policy: nothing from anywhere, except the one inline style
    block and (on the overview) the one inline script, each allowed by its hash."""
    policy = f"default-src 'none'; style-src {_sha256(style)}; img-src data:; "
    if script is not None:
        policy += f"script-src {_sha256(script)}; "
    return policy + "base-uri 'none'; form-action 'none'"


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Jinja's cache of compiled templates between processes, or None where the temp directory
    cannot hold it (then templates compile in each process, as before)."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


@cache
def make_environment(tz_name: str) -> Environment:
    """The one Jinja environment of the reports, one per time zone and process: its templates
    compile once, not on every render (Jinja still reloads a template whose file changed).
    Compiled templates are also kept between processes (Jinja's bytecode cache, in a folder of
    the system's temp directory that only this user may write, keyed by each template's source:
    an edited template is compiled again), so a run does not pay the compile each time."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        bytecode_cache=_bytecode_cache(),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {
            "int": fmt_int,
            "pct": fmt_pct,
            "signed": fmt_signed,
            "pp": fmt_pp,
            "change_class": change_class,
            "iso_day": iso_day,
            "lifecycle_label": lifecycle_label,
            "category_label": category_label,
            **make_time_filters(tz_name),
        }
    )
    style = css_text()
    env.globals.update(
        {
            "inline_css": Markup(style),  # our own file, never user input
            "csp": csp_for(style),
            "csp_with_sort": csp_for(style, sort_js()),
            "sort_js": Markup(sort_js()),  # our own file, never user input
            "stacking": stacking,
            "state_name": state_name,
            "stage_definitions": STAGE_DEFINITIONS,
            "version": __version__,
            "funnel_chart": charts.funnel_chart,
            "states_chart": charts.states_chart,
            "sparkline": charts.sparkline,
            "age_metrics": AGE_METRICS,
            "overview_age_chart": age_charts.overview_age_chart,
            "campaign_age_chart": age_charts.campaign_age_chart,
        }
    )
    return env


def render(env: Environment, template: str, page: Any) -> str:
    """Render one page; the template sees the page dataclass as ``page``."""
    return env.get_template(template).render(page=page)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralise_cell(_plain(v)) for v in row])
    return buf.getvalue()


def frame_csv_text(frame: pl.DataFrame) -> str:
    """``csv_text`` of a whole frame at once (the header is its column names): the same text,
    cell for cell, without a Python object per cell, for the large drill-down files.

    Text cells are neutralised as ``neutralise_cell`` does and an empty text is an empty cell;
    times are UTC ``2026-11-28T06:00:00Z`` (a time without a zone is read as UTC), dates ISO,
    booleans True/False, null an empty cell; integers are written as they are. Other column
    types (floats, whose Python and polars spellings differ) are refused: use ``csv_text``.
    """
    if frame.width == 1:  # csv quotes a lone empty cell (""): rare enough to do row by row
        return csv_text(frame.columns, frame.rows())
    cells = [_csv_cells(name, dtype) for name, dtype in frame.schema.items()]
    return frame.select(cells).write_csv(line_terminator="\r\n", quote_style="necessary")


def _csv_cells(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_integer() or dtype == pl.Null:
        return col
    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        text = col.cast(pl.String)
        return (
            pl.when(text == "")
            .then(pl.lit(None, pl.String))  # csv writes "" for an empty text, None as nothing
            .otherwise(neutralise_expr(text))
            .alias(name)
        )
    if isinstance(dtype, pl.Datetime):
        utc = (
            col.dt.convert_time_zone("UTC")
            if dtype.time_zone is not None
            else col.dt.replace_time_zone("UTC")
        )
        return utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(name)
    if dtype == pl.Date:
        return col.dt.strftime("%Y-%m-%d").alias(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("True")).when(col.not_()).then(pl.lit("False")).alias(name)
    raise TypeError(f"frame_csv_text cannot write column {name!r} of type {dtype}: use csv_text")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def plain(value: Any) -> Any:
    """Dataclasses, tuples and times as JSON values (no deep copies, unlike ``asdict``)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return _plain(value)
    return value


def json_text(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":")) + "\n"
