"""Phone numbers never enter the store: only a keyed hash (HMAC-SHA256) of the normalised number."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

from pipeline.core.config import Secret


def normalise_phone(col: pl.Expr) -> pl.Expr:
    """Digits only, international prefix as '+': '00420 601-234 567' -> '+420601234567'."""
    digits = col.str.replace_all(r"[^0-9+]", "").str.replace(r"^00", "+")
    return pl.when(digits.str.len_chars() > 0).then(digits).otherwise(None)


def hmac_phones(phones: pl.Series, key: Secret) -> pl.Series:
    """HMAC-SHA256 (hex) of each normalised number, computed in DuckDB (no Python row loop)."""
    import duckdb  # here: an ingest without phones to hash does not pay for loading it

    raw = key.reveal().encode()
    if len(raw) > 64:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in raw).hex()
    opad = bytes(b ^ 0x5C for b in raw).hex()
    con = duckdb.connect()
    try:
        con.register("frame", pl.DataFrame({"phone": phones}).to_arrow())
        table = con.sql(
            "SELECT CASE WHEN phone IS NULL THEN NULL ELSE "
            "sha256(unhex(?) || unhex(sha256(unhex(?) || encode(phone)))) END AS h FROM frame",
            params=[opad, ipad],
        ).to_arrow_table()
    finally:
        con.close()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out.get_column("h")


def hmac_phone(number: str, key: Secret) -> str:
    """The reference implementation (Python's hmac) of one number's hash, for checks."""
    return hmac.new(key.reveal().encode(), number.encode(), hashlib.sha256).hexdigest()
