"""The demo's export files: one per snapshot time, in the campaign's format.

Formats: API-shaped JSON (local times with offsets), UTF-8 CSV with API values and UTC times,
UTF-8 CSV with a BOM, semicolons, UI labels and local times, a Czech Excel CSV (cp1250), and
Parquet. One csv-api file gets a few bad rows, which the ingest quarantines.
"""

from __future__ import annotations

import codecs
import io
import random
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.core.catalog import load_catalog
from pipeline.core.durable import atomic_write
from pipeline.demo.campaigns import EXTENSIONS, HOUR, CampaignSpec
from pipeline.demo.contacts import states_at

# Formats whose times are local text: the strftime pattern of each.
LOCAL_TIME_FORMATS = {
    "json": "%Y-%m-%dT%H:%M:%S%:z",  # the API's offsets: local time with +01:00
    "csv-labels": "%Y-%m-%d %H:%M:%S",  # local time without an offset
    "csv-cp1250": "%-d.%-m.%Y %-H:%M:%S",  # Czech Excel
}
UTC_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # csv-api


def _labels() -> dict[str, str]:
    cat = load_catalog()
    out = {v: s.label for s in cat.states for v in s.api_values}
    out.update(dict.fromkeys(cat.legacy_api_values, cat.legacy_label))
    return out


def _epoch(col: str) -> pl.Expr:
    return pl.from_epoch(pl.col(col), time_unit="s").dt.replace_time_zone("UTC")


def _local_text(col: str, fmt: str, tz: str) -> pl.Expr:
    return _epoch(col).dt.convert_time_zone(tz).dt.strftime(fmt)


def write_exports(
    spec: CampaignSpec,
    contacts: pl.DataFrame,
    times: list[datetime],
    start: datetime,
    inbox: Path,
    rng: random.Random,
    tz: str,
) -> tuple[list[Path], int]:
    """Write one export file per snapshot time; returns the paths and the total rows."""
    contacts = _with_time_texts(contacts, spec.fmt, tz)
    labels = _labels()
    paths: list[Path] = []
    rows = 0
    for k, when in enumerate(times):
        snap = _snapshot(spec, contacts, int(when.timestamp()), start)
        bad_rows = rng if k == spec.bad_rows_in_snapshot else None
        out, data = _encode(spec.fmt, snap, labels, bad_rows=bad_rows)
        name = (
            f"campaign-{spec.campaign_id}_{when:%Y%m%dT%H%M%S}Z.{EXTENSIONS.get(spec.fmt, 'csv')}"
        )
        path = inbox / name
        atomic_write(path, data)
        rows += out.height
        paths.append(path)
    return paths, rows


def _with_time_texts(contacts: pl.DataFrame, fmt: str, tz: str) -> pl.DataFrame:
    """Time texts that do not change between snapshots, formatted once."""
    tf = LOCAL_TIME_FORMATS.get(fmt, "")
    if tf:
        return contacts.with_columns(
            _local_text("t_created", tf, tz).alias("created_text"),
            _local_text("t_ip2", tf, tz).alias("ip2_text"),
            _local_text("t_ip3", tf, tz).alias("ip3_text"),
        )
    if fmt == "csv-api":
        return contacts.with_columns(
            _epoch("t_created").dt.strftime(UTC_TIME_FORMAT).alias("created_text"),
            _epoch("t_ip2").dt.strftime(UTC_TIME_FORMAT).alias("ip2_text"),
            _epoch("t_ip3").dt.strftime(UTC_TIME_FORMAT).alias("ip3_text"),
        )
    return contacts


def _snapshot(spec: CampaignSpec, contacts: pl.DataFrame, t: int, start: datetime) -> pl.DataFrame:
    """The contacts created by ``t``, with their state then."""
    hours = (t - start.timestamp()) / HOUR
    window = spec.unknown_window_h
    unknown = window is not None and window[0] <= hours < window[1]
    return contacts.filter(pl.col("t_created") <= t).with_columns(
        states_at(t, legacy=spec.legacy_share > 0, unknown=unknown)
    )


def _retry_text() -> pl.Expr:
    return (
        pl.when(pl.col("retry_at").is_null())
        .then(None)
        .when(pl.col("retry_at") == pl.col("t_ip3"))
        .then(pl.col("ip3_text"))
        .otherwise(pl.col("ip2_text"))
    )


def _encode(
    fmt: str, snap: pl.DataFrame, labels: dict[str, str], *, bad_rows: random.Random | None
) -> tuple[pl.DataFrame, bytes]:
    """The rows of one export file and its bytes. ``bad_rows``: add a few (csv-api only)."""
    if fmt == "json":
        return _json(snap)
    if fmt == "parquet":
        return _parquet(snap)
    if fmt == "csv-api":
        return _csv_api(snap, bad_rows)
    if fmt == "csv-labels":
        return _csv_labels(snap, labels)
    return _csv_cp1250(snap, labels)


def _json(snap: pl.DataFrame) -> tuple[pl.DataFrame, bytes]:
    out = snap.select(
        pl.col("contact_id").alias("id"),
        "state",
        pl.col("created_text").alias("created"),
        _retry_text().alias("retryScheduledDate"),
        pl.col("retry_count").alias("retryCount"),
    )
    return out, out.write_json().encode()


def _parquet(snap: pl.DataFrame) -> tuple[pl.DataFrame, bytes]:
    out = snap.select(
        "contact_id",
        "state",
        _epoch("t_created").alias("created"),
        "retry_count",
        _epoch("retry_at").alias("retry_scheduled"),
    )
    buffer = io.BytesIO()
    out.write_parquet(buffer, compression="zstd")
    return out, buffer.getvalue()


def _csv_api(snap: pl.DataFrame, bad_rows: random.Random | None) -> tuple[pl.DataFrame, bytes]:
    out = snap.select(
        pl.col("contact_id").cast(pl.String),
        "state",
        pl.col("created_text").alias("created_at"),
        "retry_count",
        _retry_text().alias("next_retry"),
    )
    if bad_rows is not None:
        out = _with_bad_rows(out, bad_rows)
    return out, out.write_csv().encode()


def _csv_labels(snap: pl.DataFrame, labels: dict[str, str]) -> tuple[pl.DataFrame, bytes]:
    out = snap.select(
        pl.col("contact_id").alias("Contact ID"),
        pl.col("state").replace_strict(labels, default=pl.col("state")).alias("State"),
        pl.col("created_text").alias("Created"),
        pl.col("retry_count").alias("Retry count"),
        _retry_text().alias("Retry scheduled"),
    )
    return out, codecs.BOM_UTF8 + out.write_csv(separator=";").encode()


def _csv_cp1250(snap: pl.DataFrame, labels: dict[str, str]) -> tuple[pl.DataFrame, bytes]:
    out = snap.select(
        pl.col("contact_id").alias("ID kontaktu"),
        pl.col("state").replace_strict(labels, default=pl.col("state")).alias("Stav"),
        pl.col("created_text").alias("Vytvoreno"),
        pl.col("retry_count").alias("Pocet opakovani"),
        pl.lit("Věrnostní program \u2013 zlatá karta").alias("Poznámka"),
    )
    return out, out.write_csv(separator=";").encode("cp1250")


def _with_bad_rows(out: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """A few rows without a contact id (0.4% of the file) and one exact repeat of a row."""
    k = max(1, out.height // 250)
    picks = sorted(rng.sample(range(out.height), k + 1))
    missing = out[picks[:k]].with_columns(pl.lit("").alias("contact_id"))
    repeat = out[picks[k:]]
    return pl.concat([out, missing, repeat])
