"""Erased contacts never come back: rows whose contact id is on the suppression list are dropped
(and counted) before anything is stored. The list holds a SHA-256 of each id, not the id."""

from __future__ import annotations

import polars as pl

_SALT = "campaign-reports:contact:"


def contact_hash(contact_id: str) -> str:
    """The suppression list's key of a contact id (never the id itself)."""
    import hashlib

    return hashlib.sha256(f"{_SALT}{contact_id.strip()}".encode()).hexdigest()


def drop_suppressed(
    frame: pl.DataFrame, hashes: set[str], column: str = "contact_id"
) -> tuple[pl.DataFrame, int]:
    """Drop the rows of erased contacts. Returns the kept rows and how many were dropped."""
    if not hashes or frame.height == 0:
        return frame, 0
    import duckdb  # here: without a suppression list an ingest does not pay for loading it

    con = duckdb.connect()
    try:
        con.register("ids", frame.select(pl.col(column).alias("contact_id")).unique().to_arrow())
        con.register("sup", pl.DataFrame({"h": sorted(hashes)}).to_arrow())
        hit = con.sql(
            f"SELECT contact_id FROM ids WHERE sha256('{_SALT}' || trim(contact_id)) "
            "IN (SELECT h FROM sup)"
        ).fetchall()
    finally:
        con.close()
    if not hit:
        return frame, 0
    erased = [row[0] for row in hit]
    kept = frame.filter(~pl.col(column).is_in(erased))
    return kept, frame.height - kept.height
