"""Broken and hostile export files from a seed, for the fuzz test and ``bench/fuzz_bench.py``.

``mutants(seed, count)`` yields ``(kind, suffix, bytes)``: good CSV, JSON and Parquet exports
mutated in one of the ways real files break (cut short, bytes flipped, another encoding or line
end, a huge field or header, deep nesting, wrong JSON or Parquet types). The same seed gives the
same files.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

STATES = ("WA_READ", "WA_DELIVERED", "WA_SENT", "Initial", "FAILING", "Doručeno")


def _rows(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": str(2262000000 + i),
            "state": rng.choice(STATES),
            "created": "2026-11-27T10:00:00+01:00",
            "retry_count": str(rng.randint(0, 3)),
            "phone": f"+42060{rng.randint(1000000, 9999999)}",
        }
        for i in range(n)
    ]


def good_csv(rows: list[dict[str, Any]], sep: str = ",") -> bytes:
    lines = [sep.join(rows[0])] + [sep.join(str(v) for v in r.values()) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def good_json(rows: list[dict[str, Any]]) -> bytes:
    items = [
        {"id": int(r["contact_id"]), "state": r["state"], "created": r["created"],
         "retryCount": int(r["retry_count"])}
        for r in rows
    ]  # fmt: skip
    return json.dumps(items, ensure_ascii=False).encode("utf-8")


def good_parquet(columns: dict[str, Any], types: dict[str, Any] | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({k: pa.array(v, (types or {}).get(k)) for k, v in columns.items()})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------ mutations
def _cut(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randint(1, max(1, len(data) - 1))]


def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def _encoding(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8")
    enc = rng.choice(["cp1250", "utf-16", "latin-1", "utf-8-sig"])
    return text.encode(enc, errors="replace")


def _line_ends(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\n", rng.choice([b"\r", b"\r\n", b"\n\n", b"\r\r\n"]))


def _huge_field(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(1, max(2, len(lines) - 1))
    lines[at] = lines[at] + b"x" * rng.choice([1000, 140_000, 300_000])
    return b"\n".join(lines)


def _huge_header(rng: random.Random, data: bytes) -> bytes:
    head, _, rest = data.partition(b"\n")
    return head + b",h" * rng.choice([70_000, 100_000]) + b"\n" + rest


def _quotes(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(1, max(2, len(lines) - 1))
    lines[at] = b'"' + lines[at]
    return b"\n".join(lines)


CSV_MUTATIONS: dict[str, Callable[[random.Random, bytes], bytes]] = {
    "csv-cut": _cut,
    "csv-flip": _flip,
    "csv-encoding": _encoding,
    "csv-line-ends": _line_ends,
    "csv-huge-field": _huge_field,
    "csv-huge-header": _huge_header,
    "csv-quote": _quotes,
}


def _json_mutant(rng: random.Random, rows: list[dict[str, Any]]) -> tuple[str, bytes]:
    data = good_json(rows)
    kind = rng.choice(["cut", "flip", "deep", "types", "shape"])
    if kind == "cut":
        return "json-cut", _cut(rng, data)
    if kind == "flip":
        return "json-flip", _flip(rng, data)
    if kind == "deep":
        depth = rng.choice([100, 2000, 5000, 20000])
        nested = "[" * depth + "]" * depth
        return "json-deep", f'[{{"id": 1, "state": {nested}}}]'.encode()
    items = json.loads(data)
    if kind == "shape":
        doc = rng.choice([items[0], "text", 42, [items], {"identities": "x"}, [1, 2, 3]])
        return "json-shape", json.dumps(doc).encode()
    odd = [1.5, float("nan"), {"a": 1}, [1], True, None, "", 10**30, -0.0, "2026-01-01"]
    for item in rng.sample(items, k=rng.randint(1, min(3, len(items)))):
        item[rng.choice(["id", "state", "created", "retryCount"])] = rng.choice(odd)
    return "json-types", json.dumps(items).encode()  # NaN as the NaN literal Python writes


def _parquet_mutant(rng: random.Random, rows: list[dict[str, Any]]) -> tuple[str, bytes]:
    import datetime as dt

    import pyarrow as pa

    ids = [r["contact_id"] for r in rows]
    states = [r["state"] for r in rows]
    kind = rng.choice(["cut", "flip", "types", "ids"])
    if kind in ("cut", "flip"):
        data = good_parquet({"contact_id": ids, "state": states})
        return f"parquet-{kind}", (_cut if kind == "cut" else _flip)(rng, data)
    if kind == "ids":
        choice = rng.choice(["float", "date", "int", "bool"])
        by_kind: dict[str, list[Any]] = {
            "float": [float(i) for i in ids],
            "date": [dt.date(1970, 1, 1) for _ in ids],
            "int": [int(i) for i in ids],
            "bool": [True for _ in ids],
        }
        values = by_kind[choice]
        return "parquet-ids", good_parquet({"contact_id": values, "state": states})
    column, value, typ = rng.choice(
        [
            ("state", [[s] for s in states], None),
            ("state", [[("k", s)] for s in states], pa.map_(pa.string(), pa.string())),
            ("created", [5 for _ in ids], pa.duration("s")),
            ("created", [dt.time(1, 2) for _ in ids], None),
            ("retry_count", [b"\x00\x01" for _ in ids], None),
            ("state", [{"a": s} for s in states], None),
        ]
    )
    columns: dict[str, Any] = {"contact_id": ids, "state": states, column: value}
    return "parquet-types", good_parquet(columns, {column: typ} if typ else None)


def mutants(seed: int, count: int) -> Iterator[tuple[str, str, bytes]]:
    """``count`` broken files from ``seed``: (kind, suffix, content)."""
    rng = random.Random(seed)
    for _ in range(count):
        rows = _rows(rng, rng.randint(1, 40))
        fmt = rng.choice(["csv", "csv", "csv", "json", "parquet"])
        if fmt == "csv":
            kind = rng.choice(list(CSV_MUTATIONS))
            sep = rng.choice([",", ";", "\t"])
            yield kind, ".csv", CSV_MUTATIONS[kind](rng, good_csv(rows, sep))
        elif fmt == "json":
            kind, data = _json_mutant(rng, rows)
            yield kind, ".json", data
        else:
            kind, data = _parquet_mutant(rng, rows)
            yield kind, ".parquet", data
