"""What the two peers of ``first_run_bench.py`` share: the state mapping, the file names, the page.

The peers (``pandas_peer.py``, ``plain_duckdb.py``) are the scripts an analyst would write
instead of the project: they read every export file, map the states, and write the same outputs
(CSV tables and one HTML page per campaign). They do not import ``pipeline``: the mapping comes
straight from ``pipeline/core/states.toml``, as an analyst would copy it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

STATES_TOML = Path(__file__).resolve().parent.parent / "pipeline" / "core" / "states.toml"
TIMEZONE = "Europe/Prague"
STUCK_MINUTES = 60  # the project's default stuck_after_minutes
STUCK_STATES = ("in_progress", "retry_scheduled")
RANKS = {"sent": 1, "delivered": 2, "read": 3}
FILE_NAME = re.compile(r"campaign-(?P<campaign>[^_]+)_(?P<time>\d{8}T\d{6})Z")


def state_mapping() -> tuple[dict[str, str], dict[str, int], list[str]]:
    """(matching key -> state code, state code -> funnel rank, the codes in catalog order).

    Keys are lower case with spaces folded: labels, API values and codes; the legacy state maps
    to sent. Anything else is ``other``.
    """
    doc = tomllib.loads(STATES_TOML.read_text(encoding="utf-8"))
    keys: dict[str, str] = {}
    ranks: dict[str, int] = {}
    codes: list[str] = []
    for s in doc["state"]:
        codes.append(s["code"])
        ranks[s["code"]] = RANKS.get(s["funnel_stage"], 0)
        for key in [s["code"], s["label"], *s["api_values"]]:
            keys[fold(key)] = s["code"]
    legacy = doc["legacy"]
    for key in [legacy["label"], *legacy["api_values"]]:
        keys[fold(key)] = legacy["default_maps_to"]
    codes.append("other")
    ranks["other"] = 0
    return keys, ranks, codes


def fold(text: str) -> str:
    return " ".join(text.split()).lower()


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Campaign {{ campaign }}</title></head>
<body>
<h1>Campaign {{ campaign }}</h1>
<p>Latest snapshot {{ funnel.snapshot_time }}: {{ funnel.contacts }} contacts;
reached Sent {{ funnel.reached_sent }}, Delivered {{ funnel.reached_delivered }},
Read {{ funnel.reached_read }}; {{ stuck | length }} stuck (over {{ stuck_minutes }} min).</p>
<h2>States now</h2>
<table>{% for r in states %}<tr><td>{{ r.state }}</td><td>{{ r.contacts }}</td></tr>{% endfor %}
</table>
<h2>Daily ({{ tz }})</h2>
<table><tr><th>day</th><th>contacts</th><th>sent</th><th>delivered</th><th>read</th></tr>
{% for r in daily %}<tr><td>{{ r.day }}</td><td>{{ r.contacts }}</td><td>{{ r.reached_sent }}</td>
<td>{{ r.reached_delivered }}</td><td>{{ r.reached_read }}</td></tr>{% endfor %}
</table>
<h2>Transitions</h2>
<table><tr><th>day</th><th>from</th><th>to</th><th>contacts</th><th>median min</th></tr>
{% for r in transitions %}<tr><td>{{ r.day }}</td><td>{{ r.from_state }}</td>
<td>{{ r.to_state }}</td><td>{{ r.contacts }}</td><td>{{ r.median_minutes }}</td></tr>
{% endfor %}</table>
<h2>Stuck</h2>
<ul>{% for r in stuck[:100] %}<li>{{ r.contact_id }}: {{ r.state }}</li>{% endfor %}</ul>
</body></html>
"""


def render_pages(out: Path, pages: dict[str, dict]) -> None:
    """One HTML page per campaign: ``pages`` maps a campaign to the template's variables."""
    import jinja2

    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    for campaign, context in pages.items():
        html = template.render(
            campaign=campaign, tz=TIMEZONE, stuck_minutes=STUCK_MINUTES, **context
        )
        (out / f"campaign-{campaign}.html").write_text(html, encoding="utf-8")
