"""A hand-built tenant for the by-age curves and the projection (views ``campaign_age``,
``campaign_age_median``, ``projection``).

Time zone UTC; the report day is 2026-11-21. Every campaign has 10 contacts, all of them
reached Sent from the first snapshot on, so read of sent = reads / 10 and delivered of sent =
(reads + delivered) / 10. ``(r, d)`` below is (contacts in Read, contacts in Delivered).

- ``f1``: API started 2026-11-01 08:00Z, finished 11-04 09:00Z. Age 0 h (0, 0), 24 h (2, 3),
  72 h (4, 4): read of sent 0.0, 0.2, 0.4; delivered of sent 0.0, 0.5, 0.8.
- ``f2``: API started 11-05 08:00Z, finished 11-08 09:00Z. 0 h (1, 0), 24 h (4, 2), 72 h (6, 3):
  read of sent 0.1, 0.4, 0.6; delivered of sent 0.1, 0.6, 0.9.
- ``f3``: the API gives no start (start = its first snapshot, 11-09 08:00Z), finished 11-12
  09:00Z. 0 h (0, 0), 24 h (2, 2), 72 h (5, 3): read of sent 0.0, 0.2, 0.5; delivered of sent
  0.0, 0.4, 0.8.
- ``run``: API started 11-20 08:00Z, not finished: running. 0 h (0, 0), 0.5 h (1, 0), 24 h
  (3, 1): read of sent 0.0, 0.1, 0.3; delivered of sent 0.0, 0.1, 0.4.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from report_helpers import build_tenant

from pipeline.core.config import Config

DAY = date(2026, 11, 21)
TZ = "UTC"


def contacts(prefix: str, read: int, delivered: int, n: int = 10) -> list[tuple[str, str]]:
    """``n`` contacts: the first ``read`` in Read, the next ``delivered`` in Delivered, the
    rest Sent (so counts that only grow move each contact forward, never back)."""
    states = ["WA_READ"] * read + ["WA_DELIVERED"] * delivered
    states += ["WA_SENT"] * (n - len(states))
    return [(f"{prefix}{i:02d}", s) for i, s in enumerate(states)]


TENANT: dict[str, dict[str, list[tuple[str, str]]]] = {
    "f1": {
        "20261101T080000Z": contacts("a", 0, 0),
        "20261102T080000Z": contacts("a", 2, 3),
        "20261104T080000Z": contacts("a", 4, 4),
    },
    "f2": {
        "20261105T080000Z": contacts("b", 1, 0),
        "20261106T080000Z": contacts("b", 4, 2),
        "20261108T080000Z": contacts("b", 6, 3),
    },
    "f3": {
        "20261109T080000Z": contacts("c", 0, 0),
        "20261110T080000Z": contacts("c", 2, 2),
        "20261112T080000Z": contacts("c", 5, 3),
    },
    "run": {
        "20261120T080000Z": contacts("r", 0, 0),
        "20261120T083000Z": contacts("r", 1, 0),
        "20261121T080000Z": contacts("r", 3, 1),
    },
}

CAMPAIGNS = {
    "f1": {"name": "First", "started": "2026-11-01T08:00:00Z", "finished": "2026-11-04T09:00:00Z"},
    "f2": {"name": "Second", "started": "2026-11-05T08:00:00Z", "finished": "2026-11-08T09:00:00Z"},
    "f3": {"name": "Third", "finished": "2026-11-12T09:00:00Z"},
    "run": {"name": "Running", "started": "2026-11-20T08:00:00Z"},
}


def build_age_tenant(data_dir: Path, **report: object) -> Config:
    """Build the tenant; ``report`` overrides ``[report]`` settings (e.g. the minimum)."""
    from dataclasses import replace

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "campaigns.json").write_text(json.dumps(CAMPAIGNS), encoding="utf-8")
    cfg = Config(data_dir=data_dir, timezone=TZ)
    if report:
        cfg = replace(cfg, report=replace(cfg.report, **report))  # type: ignore[arg-type]
    return build_tenant(data_dir, TENANT, config=cfg)
