"""What the store says went wrong on the way in, as two small warehouse tables.

``quarantine_summary``: the rows of every quarantine file the store lists, counted per
campaign, snapshot time and reason (the files hold the rows' text; only the counts come here).
``incomplete_reasons``: why each incomplete snapshot is incomplete, from the load log
(``logs/loads.jsonl``: an export's record names the snapshot it published and its problem).
Both are replaced by every build; retention removes old quarantine files, and their rows with them.
"""

from __future__ import annotations

import contextlib

import duckdb
import polars as pl

from pipeline.store.loads import LoadLog
from pipeline.store.snapshots import Store

_SUMMARY_SCHEMA = {
    "campaign_id": pl.String,
    "snapshot_time": pl.String,
    "loaded_at": pl.String,
    "reason": pl.String,
    "rows": pl.Int64,
    "file": pl.String,
}


def quarantine_frame(store: Store) -> pl.DataFrame:
    """One row per quarantine file, campaign, snapshot time (text) and reason, with its rows."""
    parts = []
    for rel, loaded_at in store.quarantine_times().items():
        path = store.root / rel
        try:
            frame = pl.read_csv(path, infer_schema=False, columns=None)
        except (OSError, pl.exceptions.PolarsError):
            continue  # removed by retention or erasure since the index was read
        cols = [c for c in ("campaign_id", "snapshot_time", "reason") if c in frame.columns]
        if "reason" not in cols:
            continue
        counted = (
            frame.group_by(cols)
            .len("rows")
            .with_columns(pl.lit(loaded_at).alias("loaded_at"), pl.lit(rel).alias("file"))
        )
        for missing in {"campaign_id", "snapshot_time"} - set(cols):
            counted = counted.with_columns(pl.lit(None, pl.String).alias(missing))
        parts.append(counted.select(list(_SUMMARY_SCHEMA)).cast(_SUMMARY_SCHEMA))  # type: ignore[arg-type]
    return pl.concat(parts) if parts else pl.DataFrame(schema=_SUMMARY_SCHEMA)


def incomplete_frame(store: Store) -> pl.DataFrame:
    """snapshot_id -> why its load published it incomplete (the last record that says so)."""
    reasons: dict[str, str] = {}
    for record in LoadLog(store.root).records():
        if record.get("complete") is False:
            with contextlib.suppress(TypeError):
                for sid in record.get("published") or []:
                    reasons[str(sid)] = str(record.get("error") or "")
    return pl.DataFrame(
        {"snapshot_id": list(reasons), "reason": [r or None for r in reasons.values()]},
        schema={"snapshot_id": pl.String, "reason": pl.String},
    )


def load_quality_inputs(con: duckdb.DuckDBPyConnection, store: Store) -> None:
    """Replace the rows of ``quarantine_summary`` and ``incomplete_reasons``."""
    con.register("_quarantine_frame", quarantine_frame(store).to_arrow())
    con.register("_incomplete_frame", incomplete_frame(store).to_arrow())
    try:
        con.execute("DELETE FROM quarantine_summary")
        con.execute(
            "INSERT INTO quarantine_summary SELECT campaign_id, "
            "TRY_CAST(snapshot_time AS TIMESTAMPTZ), TRY_CAST(loaded_at AS TIMESTAMPTZ), "
            "reason, rows, file FROM _quarantine_frame"
        )
        con.execute("DELETE FROM incomplete_reasons")
        con.execute("INSERT INTO incomplete_reasons SELECT * FROM _incomplete_frame")
    finally:
        con.unregister("_quarantine_frame")
        con.unregister("_incomplete_frame")
