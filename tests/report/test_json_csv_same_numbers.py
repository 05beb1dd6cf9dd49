"""One small tenant loaded twice, from API JSON files and from CSV exports whose UI labels change
letter case between files, gives the same history, transitions, stuck counts, funnels and pages.

Campaign J across the night the clocks go back in Europe/Prague (2026-10-25), four snapshots:
J1 10-24 22:30Z (00:30 CEST), J2 00:30Z (02:30 CEST), J3 01:30Z (02:30 CET), J4 08:00Z.
  j1  CALLING / CALL_IN_PROGRESS / CALLING / CALLING       In progress / IN PROGRESS / in progress
                                                            / In Progress   (one run from J1)
  j2  WA_READ / WA_DELIVERED / WA_DELIVERED / WA_READ       Read / Delivered / DELIVERED / read
  j3  RETRY_SCHEDULED x2 / WA_SENT / WA_DELIVERED           Retry scheduled / RETRY SCHEDULED /
                                                            Sent / delivered
  j4  INITIAL / WA_SEND_FAILED x3                           Initial / Sending failed / SENDING
                                                            FAILED / sending failed
By hand: 9 history intervals (j1 1, j2 3, j3 3, j4 2: HISTORY), moves on 10-25: read -> delivered,
delivered -> read, retry_scheduled -> sent, sent -> delivered, initial -> sending_failed (1 each);
stuck at J4 (threshold 60 min): j1, In progress since J1 = 9 h 30 min of real time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from report_helpers import query
from warehouse_helpers import utc

from pipeline.core.config import Config
from pipeline.core.console import Console
from pipeline.report import render_reports
from pipeline.store.ingest import ingest_files
from pipeline.store.snapshots import Store
from pipeline.warehouse.build import build

TIMES = ("20261024T223000Z", "20261025T003000Z", "20261025T013000Z", "20261025T080000Z")
J = [
    utc(t) for t in ("2026-10-24T22:30", "2026-10-25T00:30", "2026-10-25T01:30", "2026-10-25T08:00")
]
API = {
    "j1": ("CALLING", "CALL_IN_PROGRESS", "CALLING", "CALLING"),
    "j2": ("WA_READ", "WA_DELIVERED", "WA_DELIVERED", "WA_READ"),
    "j3": ("RETRY_SCHEDULED", "RETRY_SCHEDULED", "WA_SENT", "WA_DELIVERED"),
    "j4": ("INITIAL", "WA_SEND_FAILED", "WA_SEND_FAILED", "WA_SEND_FAILED"),
}
LABELS = {
    "j1": ("In progress", "IN PROGRESS", "in progress", "In Progress"),
    "j2": ("Read", "Delivered", "DELIVERED", "read"),
    "j3": ("Retry scheduled", "RETRY SCHEDULED", "Sent", "delivered"),
    "j4": ("Initial", "Sending failed", "SENDING FAILED", "sending failed"),
}
HISTORY = [
    ("j1", "in_progress", J[0], None),
    ("j2", "read", J[0], J[1]),
    ("j2", "delivered", J[1], J[3]),
    ("j2", "read", J[3], None),
    ("j3", "retry_scheduled", J[0], J[2]),
    ("j3", "sent", J[2], J[3]),
    ("j3", "delivered", J[3], None),
    ("j4", "initial", J[0], J[1]),
    ("j4", "sending_failed", J[1], None),
]
DAY = date(2026, 10, 25)


def load(root: Path, kind: str) -> Config:
    data_dir = root / kind / "data"
    data_dir.mkdir(parents=True)
    inbox = root / kind / "inbox"
    inbox.mkdir()
    files = []
    for i, when in enumerate(TIMES):
        path = inbox / f"campaign-J_{when}.{kind}"
        if kind == "json":
            body = [{"id": c, "state": raw[i], "retryCount": 0} for c, raw in API.items()]
            path.write_text(json.dumps(body), encoding="utf-8")
        else:
            lines = ["contact_id,state", *(f"{c},{raw[i]}" for c, raw in LABELS.items())]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    config = Config(data_dir=data_dir, timezone="Europe/Prague", stuck_after_minutes=60)
    reports = ingest_files(files, store=Store(data_dir), config=config, console=Console.silent())
    assert all(r.ok for r in reports), [r.summary() for r in reports]
    build(config, Console.silent())
    render_reports(config, Console.silent(), day=DAY)
    return config


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, Config]]:
    root = tmp_path_factory.mktemp("json-csv")
    yield load(root, "json"), load(root, "csv")


SQL = {
    "history": "SELECT contact_id, state, valid_from, valid_to FROM state_history "
    "ORDER BY contact_id, valid_from",
    "moves": "SELECT day, from_state, to_state, contacts FROM state_transitions ORDER BY ALL",
    "stuck": "SELECT snapshot_time, in_progress, retry_scheduled FROM stuck_counts ORDER BY ALL",
    "daily": "SELECT * EXCLUDE (snapshot_id) FROM campaign_daily ORDER BY ALL",
}


def rows(config: Config, name: str) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in query(config, SQL[name])]


def test_history_is_as_worked_out_from_both(both: tuple[Config, Config]) -> None:
    for config in both:
        assert rows(config, "history") == HISTORY


def test_moves_and_stuck_are_as_worked_out_from_both(both: tuple[Config, Config]) -> None:
    for config in both:
        assert rows(config, "moves") == [
            (DAY, "delivered", "read", 1),
            (DAY, "initial", "sending_failed", 1),
            (DAY, "read", "delivered", 1),
            (DAY, "retry_scheduled", "sent", 1),
            (DAY, "sent", "delivered", 1),
        ]
        # j1 at J2, J3, J4: 2 h, 3 h (across the repeated hour), 9 h 30 min; j3 (Retry
        # scheduled since J1) at J2: 2 h. (J2 is 00:30Z: 02:30 CEST; J1 22:30Z the day before)
        assert rows(config, "stuck") == [(J[0], 0, 0), (J[1], 1, 1), (J[2], 1, 0), (J[3], 1, 0)]


def test_daily_counts_and_funnels_are_equal(both: tuple[Config, Config]) -> None:
    from_json, from_csv = both
    assert rows(from_json, "daily") == rows(from_csv, "daily")


def page_numbers(config: Config, name: str) -> dict[str, Any]:
    """The metrics JSON beside a page, without what names the source files or snapshot ids."""
    path = Path(config.data_dir) / "reports" / DAY.isoformat() / name
    data = json.loads(path.read_text("utf-8"))
    return json.loads(
        json.dumps(data).replace(".json", ".x").replace(".csv", ".x"),
        object_hook=lambda d: {k: v for k, v in d.items() if k not in {"snapshot_id", "source"}},
    )


def test_the_pages_numbers_are_equal(both: tuple[Config, Config]) -> None:
    from_json, from_csv = both
    for name in ("overview.json", "campaign-J.json"):
        assert page_numbers(from_json, name) == page_numbers(from_csv, name), name
    stuck_csv = [
        (Path(c.data_dir) / "reports" / DAY.isoformat() / "campaign-J-stuck.csv").read_text()
        for c in both
    ]
    assert stuck_csv[0] == stuck_csv[1]
    assert stuck_csv[0].splitlines()[1].split(",")[0] == "j1"


def test_the_findings_are_equal_and_as_worked_out(both: tuple[Config, Config]) -> None:
    """One backward move (j2 read -> delivered at J2, 10-25); the case flips of the CSV labels
    and the CALLING / CALL_IN_PROGRESS flips of the JSON are not findings at all."""
    findings = [
        query(c, "SELECT * EXCLUDE (detail) FROM data_quality(DATE '2026-10-25') ORDER BY ALL")
        for c in both
    ]
    assert findings[0] == findings[1]
    assert [(f["check_name"], f["findings"]) for f in findings[0]] == [("went_backwards", 1)]
    backward = [
        query(c, "SELECT day, from_state, to_state, moves FROM quality_backward_moves ORDER BY ALL")
        for c in both
    ]
    assert (
        backward[0]
        == backward[1]
        == [{"day": DAY, "from_state": "read", "to_state": "delivered", "moves": 1}]
    )
