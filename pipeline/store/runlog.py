"""The run log: one JSON line per finished job run, the scheduler's memory.

``<data_dir>/logs/runs.jsonl`` is append-only. A line is written when a run ends (ok, failed, or
abandoned on shutdown), never while it runs, so a run cut off by a crash leaves no line and is
simply due again. What the scheduler has done, what it missed and what it must catch up are all
computed from this file (``pipeline.schedule.plan``), never from memory. Only the process that
holds the scheduler lock (``campaign-reports schedule`` or ``run``) appends to it.

A line cut short by a crash has no newline at its end: readers ignore it, and the next writer
cuts it off before appending, as every log does (``pipeline.core.durable.JsonlLog``). A damaged line in the middle is
skipped and counted (``RunLog.damaged``): the log must never stop the scheduler.

One line (``v`` 1)::

    {"v": 1, "run_id": "…", "job": "report", "kind": "report", "key": "2026-11-27",
     "day": "2026-11-27", "scheduled_for": "2026-11-28T05:00:00Z", "started": "…",
     "ended": "…", "duration_s": 4.2, "status": "ok", "rows": 0, "snapshots": 0,
     "error": null, "reason": "catch-up", "attempt": 1, "missed": 0, "missed_since": null,
     "trigger": "schedule", "pid": 4242, "detail": {…}}
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.core.clock import iso, parse_iso
from pipeline.core.durable import JsonlLog

RUNS = Path("logs") / "runs.jsonl"
RUNLOG_VERSION = 1
STATUSES = ("ok", "failed", "abandoned")


@dataclass
class RunRecord:
    """One run of one job, as the run log keeps it."""

    job: str
    kind: str
    key: str  # the interval: the report day, or the fire time
    scheduled_for: str  # ISO UTC: the fire time this run was for
    started: str
    ended: str
    status: str  # ok | failed | abandoned
    day: str | None = None  # report: the day reported on
    rows: int = 0  # rows written (ingest, export) or rendered
    snapshots: int = 0  # snapshots published
    error: str | None = None
    reason: str = "scheduled"  # scheduled | catch-up | retry
    attempt: int = 1
    missed: int = 0  # earlier fire times this run stood in for
    missed_since: str | None = None
    trigger: str = "schedule"  # schedule (the long-running scheduler) | run (one pass)
    pid: int = field(default_factory=os.getpid)
    detail: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    v: int = RUNLOG_VERSION

    @property
    def duration_s(self) -> float:
        return round((parse_iso(self.ended) - parse_iso(self.started)).total_seconds(), 3)

    def to_json(self) -> str:
        data = {"v": self.v, "run_id": self.run_id, **asdict(self), "duration_s": self.duration_s}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


class RunLog:
    """Read and append ``logs/runs.jsonl`` of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / RUNS
        self._log = JsonlLog(self.path)
        self.damaged = 0

    def records(self) -> list[RunRecord]:
        """Every complete line, oldest first (a torn last line is ignored, a bad one skipped)."""
        lines = self._log.read()
        out = []
        for data in lines:
            try:
                out.append(RunRecord.from_dict(data))
            except (TypeError, AttributeError):  # a JSON object that is not a run record
                continue
        self.damaged = self._log.damaged + len(lines) - len(out)
        return out

    def append(self, record: RunRecord) -> None:
        """Append one line durably (the caller holds the scheduler lock)."""
        self._log.append(json.loads(record.to_json()))

    # ----------------------------------------------------------------------------- questions
    def failures_since(
        self, since: datetime | None, kinds: Iterable[str] | None = None
    ) -> list[RunRecord]:
        """Failed runs that ended after ``since`` (all if None), of the given kinds (all if None).

        For the daily report: ``failures_since(<when the previous report was rendered>,
        ["export"])`` are the failed exports since the last report."""
        wanted = set(kinds) if kinds is not None else None
        return [
            r
            for r in self.records()
            if r.status == "failed"
            and (wanted is None or r.kind in wanted)
            and (since is None or parse_iso(r.ended) > since)
        ]

    def last_ok(self, kind: str, *, before: datetime | None = None) -> RunRecord | None:
        """The latest successful run of a kind (ended before ``before``, if given)."""
        best = None
        for r in self.records():
            if r.kind == kind and r.status == "ok":
                if before is not None and parse_iso(r.ended) >= before:
                    continue
                if best is None or r.ended > best.ended:
                    best = r
        return best


#: The table the warehouse loads the run log into (``queries/views/runs.sql`` reads it as ``runs``).
RUN_LOG_SCHEMA: dict[str, Any] = {
    "run_id": pl.String,
    "job": pl.String,
    "kind": pl.String,
    "interval_key": pl.String,
    "report_day": pl.Date,
    "scheduled_for": pl.Datetime("us", "UTC"),
    "started": pl.Datetime("us", "UTC"),
    "ended": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64,
    "status": pl.String,
    "rows": pl.Int64,
    "snapshots": pl.Int64,
    "error": pl.String,
    "reason": pl.String,
    "attempt": pl.Int32,
    "missed": pl.Int32,
    "missed_since": pl.Datetime("us", "UTC"),
    "triggered_by": pl.String,
    "pid": pl.Int64,
}


def runs_frame(records: Iterable[RunRecord]) -> pl.DataFrame:
    """The run log as a table, one row per run (the columns of ``RUN_LOG_SCHEMA``)."""
    rows = [
        {
            "run_id": r.run_id,
            "job": r.job,
            "kind": r.kind,
            "interval_key": r.key,
            "report_day": r.day,
            "scheduled_for": r.scheduled_for,
            "started": r.started,
            "ended": r.ended,
            "duration_s": r.duration_s,
            "status": r.status,
            "rows": r.rows,
            "snapshots": r.snapshots,
            "error": r.error,
            "reason": r.reason,
            "attempt": r.attempt,
            "missed": r.missed,
            "missed_since": r.missed_since,
            "triggered_by": r.trigger,
            "pid": r.pid,
        }
        for r in records
    ]
    text = {"report_day", "scheduled_for", "started", "ended", "missed_since"}
    schema = {k: (pl.String if k in text else t) for k, t in RUN_LOG_SCHEMA.items()}
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns(
        pl.col("report_day").str.to_date("%Y-%m-%d", strict=False),
        *[
            pl.col(c)
            .str.to_datetime(time_zone="UTC", strict=False)
            .dt.cast_time_unit("us")
            .alias(c)
            for c in ("scheduled_for", "started", "ended", "missed_since")
        ],
    )


def load_into_duckdb(con: Any, data_dir: Path) -> int:
    """Replace the table ``run_log`` in a DuckDB connection with the run log's rows.

    For the warehouse build: call it before the view files run, so that ``queries/views/runs.sql``
    (the view ``runs``) reads the current log. Returns the number of runs loaded."""
    frame = runs_frame(RunLog(data_dir).records())
    con.register("_run_log_frame", frame.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE run_log AS SELECT * FROM _run_log_frame")
    finally:
        con.unregister("_run_log_frame")
    return frame.height


__all__ = [
    "RUNS",
    "RunLog",
    "RunRecord",
    "iso",
    "load_into_duckdb",
    "runs_frame",
]
