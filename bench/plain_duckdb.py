"""One plain DuckDB SQL script over the raw export files (``first_run_bench.py``'s floor).

    python bench/plain_duckdb.py EXPORT_DIR OUT_DIR

The same outputs as ``pandas_peer.py`` (snapshot_counts.csv, daily.csv, funnel.csv,
transitions.csv, stuck.csv, one HTML page per campaign), from one SQL script: the files are read
with DuckDB's own readers, one call per dialect (the script only sorts the file names by dialect:
JSON, Parquet, comma CSV, semicolon CSV in UTF-8, semicolon CSV in cp1250). DuckDB has no cp1250
reader without an extension (a download), so cp1250 files are first recoded to UTF-8 in a
temporary folder, as an analyst would with iconv. No state is kept between runs: every run
recomputes everything.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (
    STUCK_MINUTES,
    STUCK_STATES,
    TIMEZONE,
    render_pages,
    state_mapping,
)

READERS = {
    "json": "SELECT CAST(id AS VARCHAR) AS contact_id, state AS raw_state, filename "
    "FROM read_json({files}, filename = true, format = 'array')",
    "parquet": "SELECT CAST(contact_id AS VARCHAR) AS contact_id, state AS raw_state, filename "
    "FROM read_parquet({files}, filename = true)",
    "csv": "SELECT contact_id, state AS raw_state, filename "
    "FROM read_csv({files}, filename = true, all_varchar = true, union_by_name = true)",
    "csv-labels": 'SELECT "Contact ID" AS contact_id, "State" AS raw_state, filename '
    "FROM read_csv({files}, filename = true, all_varchar = true, delim = ';')",
    "csv-cp1250": 'SELECT "ID kontaktu" AS contact_id, "Stav" AS raw_state, filename '
    "FROM read_csv({files}, filename = true, all_varchar = true, delim = ';')",
}

SCRIPT = """
CREATE TABLE rows AS
WITH raw AS ({union}),
parsed AS (
    SELECT
        regexp_extract(filename, 'campaign-([^_/]+)_', 1) AS campaign_id,
        strptime(regexp_extract(filename, '_(\\d{{8}}T\\d{{6}})Z', 1), '%Y%m%dT%H%M%S')
            AT TIME ZONE 'UTC' AS snapshot_time,
        contact_id,
        coalesce(m.state, 'other') AS state
    FROM raw
    LEFT JOIN mapping AS m ON m.key = lower(regexp_replace(trim(raw_state), '\\s+', ' ', 'g'))
    WHERE coalesce(contact_id, '') <> '' AND coalesce(raw_state, '') <> ''
),
distinct_rows AS (SELECT DISTINCT * FROM parsed),
single AS (
    SELECT * FROM distinct_rows
    QUALIFY count(*) OVER (PARTITION BY campaign_id, snapshot_time, contact_id) = 1
)
SELECT
    s.*,
    r.rank,
    max(r.rank) OVER (PARTITION BY campaign_id, contact_id ORDER BY snapshot_time) AS furthest,
    CAST(timezone('{tz}', snapshot_time) AS DATE) AS day,
    lag(s.state) OVER (PARTITION BY campaign_id, contact_id ORDER BY snapshot_time) AS prev
FROM single AS s JOIN ranks AS r USING (state);

CREATE TABLE snapshot_counts AS
SELECT campaign_id, snapshot_time, state, count(*) AS contacts FROM rows GROUP BY ALL;

CREATE TABLE daily AS
WITH ends AS (
    SELECT campaign_id, day, max(snapshot_time) AS snapshot_time
    FROM (SELECT DISTINCT campaign_id, day, snapshot_time FROM rows) GROUP BY ALL
)
SELECT
    r.campaign_id, r.day, e.snapshot_time,
    {state_counts},
    count(*) AS contacts,
    count(*) FILTER (WHERE furthest >= 1) AS reached_sent,
    count(*) FILTER (WHERE furthest >= 2) AS reached_delivered,
    count(*) FILTER (WHERE furthest >= 3) AS reached_read
FROM rows AS r JOIN ends AS e USING (campaign_id, day, snapshot_time)
GROUP BY ALL;

CREATE TABLE runs AS
SELECT *, max(CASE WHEN prev IS NULL OR prev <> state THEN snapshot_time END)
    OVER (PARTITION BY campaign_id, contact_id ORDER BY snapshot_time) AS since
FROM rows;

CREATE TABLE transitions AS
WITH moves AS (
    SELECT campaign_id, day, prev AS from_state, state AS to_state,
        epoch(snapshot_time - lag(since) OVER (
            PARTITION BY campaign_id, contact_id ORDER BY snapshot_time)) / 60 AS minutes,
        prev IS NOT NULL AND prev <> state AS moved
    FROM runs
)
SELECT campaign_id, day, from_state, to_state, count(*) AS contacts,
    median(minutes) AS median_minutes
FROM moves WHERE moved GROUP BY ALL;

CREATE TABLE stuck AS
SELECT campaign_id, contact_id, state, since FROM runs
WHERE state IN {stuck_states}
    AND snapshot_time = (SELECT max(snapshot_time) FROM rows AS x
        WHERE x.campaign_id = runs.campaign_id)
    AND epoch((SELECT max(snapshot_time) FROM rows) - since) / 60 > {stuck_minutes};
"""


def dialect(path: Path) -> str:
    if path.suffix in {".json", ".parquet"}:
        return path.suffix[1:]
    head = path.read_bytes()[:4096]
    if not head.split(b"\n")[0].count(b";"):
        return "csv"
    try:
        head.decode("utf-8")
        return "csv-labels"
    except UnicodeDecodeError:
        return "csv-cp1250"


def main(export_dir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keys, ranks, codes = state_mapping()
    groups: dict[str, list[str]] = {}
    recoded = Path(tempfile.mkdtemp(prefix="plain-duckdb-"))
    for p in sorted(export_dir.glob("campaign-*")):
        kind = dialect(p)
        if kind == "csv-cp1250":
            p = recoded / p.name
            p.write_text((export_dir / p.name).read_text(encoding="cp1250"), encoding="utf-8")
        groups.setdefault(kind, []).append(str(p))
    db = duckdb.connect()
    db.execute("CREATE TABLE mapping (key VARCHAR, state VARCHAR)")
    db.executemany("INSERT INTO mapping VALUES (?, ?)", list(keys.items()))
    db.execute("CREATE TABLE ranks (state VARCHAR, rank INTEGER)")
    db.executemany("INSERT INTO ranks VALUES (?, ?)", list(ranks.items()))
    union = " UNION ALL ".join(READERS[d].format(files=files) for d, files in groups.items())
    counts = ", ".join(f"count(*) FILTER (WHERE state = '{c}') AS {c}" for c in codes)
    db.execute(
        SCRIPT.format(
            union=union,
            tz=TIMEZONE,
            state_counts=counts,
            stuck_states=str(STUCK_STATES),
            stuck_minutes=STUCK_MINUTES,
        )
    )
    for table in ("snapshot_counts", "daily", "transitions", "stuck"):
        db.execute(f"COPY {table} TO '{out / (table + '.csv')}' (HEADER)")
    db.execute(
        f"COPY (SELECT * FROM daily QUALIFY day = max(day) OVER (PARTITION BY campaign_id)) "
        f"TO '{out / 'funnel.csv'}' (HEADER)"
    )
    render_pages(out, _pages(db, codes))
    n = db.execute("SELECT count(*) FROM rows").fetchone()
    print(f"plain DuckDB: {n[0] if n else 0:,} rows in {out}")


def _records(db: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[dict]:
    cur = db.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _pages(db: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, dict]:
    pages = {}
    funnel = _records(
        db, "SELECT * FROM daily QUALIFY day = max(day) OVER (PARTITION BY campaign_id)"
    )
    for f in funnel:
        c = f["campaign_id"]
        pages[c] = {
            "funnel": f,
            "states": [{"state": s, "contacts": f[s]} for s in codes],
            "daily": _records(db, "SELECT * FROM daily WHERE campaign_id = ? ORDER BY day", c),
            "transitions": _records(
                db, "SELECT * FROM transitions WHERE campaign_id = ? ORDER BY ALL", c
            ),
            "stuck": _records(db, "SELECT * FROM stuck WHERE campaign_id = ?", c),
        }
    return pages


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
