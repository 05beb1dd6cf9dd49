"""Scale benchmark (issue 7): ingest, warehouse build (full and one incremental day at day 5 and
at day 30), rendering and the whole daily run of workload S, M or L, each beside the floor plain
DuckDB reaches on the same files in the same run, with peak memory, ratios, targets, pass/fail.

The workload (``bench/workload.py``) is deterministic: M is 20 campaigns and 1M contacts starting
on different days across 30 days, snapshots hourly in each campaign's first 48 hours and four a
day after that (about 104M snapshot rows); L is ten times M in contacts; S is 1/100 of M.

What it does, under ``--out`` (default ``/tmp/scale/<workload>``):

1. publishes days 1-4 straight into a snapshot store (the store's writer, Parquet, no CSV), and
   builds the warehouse;
2. day 5, as a daily run: the day's snapshots as export CSV files in an inbox, then ``ingest``,
   ``build`` (incremental: the day's data only) and ``render`` of the day, each timed; between
   runs the store and the warehouse are put back as they were before the day;
3. publishes days 6-29 and builds;
4. day 30, the same daily run as day 5, and the incremental build of only day 30's first files
   holding as many rows as day 5 had (the same new data, 25 more days of history); then, on
   day 30's files, ingest of the CSV and of the
   same snapshots as Parquet into an empty store, beside DuckDB ``COPY`` of each file to Parquet;
5. ``build --full`` over the 30 days, beside the floor: DuckDB over the raw Parquet
   (hive-partitioned), latest state per contact (``arg_max(state, snapshot_time)``) plus the
   lag-based transitions (``lag(state)`` per campaign and contact, changes counted per day).

Each step runs in its own subprocess; its time is measured inside it around the call (so Python
start-up and imports are left out alike for the pipeline and the floors; the subprocess's wall
time is in the JSON too) and its peak RSS is that process's ``ru_maxrss`` (``os.wait4``). Each
figure is the median of ``--runs`` runs (``--full-runs`` for the full build and its floor).
The build's time is also broken down by statement of ``queries/build/*.sql``, the analyst
copy's publication and the rest (snapshot index, catalog, checkpoint, checks).

    python bench/scale_bench.py --workload S            # a quick check (35 s on 2 cores)
    python bench/scale_bench.py --workload M --runs 3   # ~103M rows: 9 minutes on 2 cores
    python bench/scale_bench.py --workload L            # ~1B rows, 1 run: well over an hour
                                                        # (the lag floor spills tens of GB)

Results also go to ``<out>/results.json`` and ``<out>/results.txt``. The data is deleted at the end
unless ``--keep``; ``--resume`` reuses a kept store (days 1-29) and measures from day 30 on (an L
run that stopped half-way need not generate and build its first 29 days again).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import benchkit  # noqa: E402
from workload import WORKLOADS, Workload, export_day, write_days  # noqa: E402

HIVE = "hive_partitioning = true, hive_types = {'campaign_id': VARCHAR, 'snapshot_date': DATE}"
FLOOR_LATEST = (
    "SELECT count(*) FROM (SELECT campaign_id, contact_id, arg_max(state, snapshot_time) "
    f"FROM read_parquet(?, {HIVE}) GROUP BY ALL)"
)
FLOOR_LAG = (
    "SELECT count(*), sum(n) FROM (SELECT snapshot_time::DATE AS day, count(*) AS n FROM ("
    "SELECT snapshot_time, state, lag(state) OVER (PARTITION BY campaign_id, contact_id "
    f"ORDER BY snapshot_time) AS prev FROM read_parquet(?, {HIVE})) "
    "WHERE prev IS DISTINCT FROM state GROUP BY ALL)"
)


# =================================================================== steps (in a subprocess)
def _config(data: Path) -> Any:
    from pipeline.core.config import Config

    return Config(data_dir=data)


def step_gen(wl: Workload, data: Path, first: int, last: int) -> dict:
    t = time.perf_counter()
    rows = write_days(wl, data, range(first, last))
    return {"rows": rows, "seconds": time.perf_counter() - t}


def step_export(wl: Workload, day: int, folder: Path, fmt: str) -> dict:
    t = time.perf_counter()
    files, rows = export_day(wl, day, folder, fmt)
    return {"files": len(files), "rows": rows, "seconds": time.perf_counter() - t}


def step_ingest(data: Path, folder: Path) -> dict:
    from pipeline.core.console import Console
    from pipeline.store.ingest import ingest_files
    from pipeline.store.snapshots import Store

    files = sorted(p for p in folder.iterdir() if p.suffix in {".csv", ".parquet"})
    t = time.perf_counter()
    reports = ingest_files(files, store=Store(data), config=_config(data), console=Console.silent())
    seconds = time.perf_counter() - t
    bad = [r.summary() for r in reports if not r.ok]
    if bad:
        raise SystemExit(f"ingest failed: {bad[:3]}")
    return {"files": len(files), "rows": sum(r.rows_loaded for r in reports), "seconds": seconds}


def step_build(data: Path, full: bool) -> dict:
    """``build``, with its time broken down by SQL statement (same statements, same order)."""
    import pipeline.warehouse.build as wh
    import pipeline.warehouse.steps as steps
    from pipeline.core.console import Console
    from pipeline.store.snapshots import Store
    from pipeline.warehouse.sql import read_query

    phases: dict[str, float] = defaultdict(float)
    run_sql_file, publish, create_views = (
        steps.run_sql_file,
        wh.publish_analyst_copy,
        wh.create_views,
    )
    index_frame = Store.index_frame

    def timed(label: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[label] += time.perf_counter() - t

        return wrapper

    def run_split(con: Any, name: str, params: Any = None, folder: Any = None) -> None:
        if params is not None or not name.startswith("build/"):
            return run_sql_file(con, name, params, folder)
        _, sql = read_query(name, folder)
        for stmt in con.extract_statements(sql):
            label = f"{name}: {' '.join(_head(stmt.query))}"
            t = time.perf_counter()
            con.execute(stmt)
            phases[label] += time.perf_counter() - t

    steps.run_sql_file = run_split  # type: ignore[assignment]
    wh.publish_analyst_copy = timed("publish analyst copy", publish)
    wh.create_views = timed("create views (queries/*.sql)", create_views)
    Store.index_frame = timed("read snapshot index", index_frame)  # type: ignore[method-assign]
    t = time.perf_counter()
    result = wh.build(_config(data), Console.silent(), full=full)
    seconds = time.perf_counter() - t
    phases["rest (locks, catalog, checks, checkpoint)"] = seconds - sum(phases.values())
    return {
        "seconds": seconds,
        "snapshots": result.snapshots_new,
        "rows": result.rows_read,
        "history_rows": result.history_rows,
        "phases": dict(phases),
    }


def _head(sql: str) -> list[str]:
    """The first words of a statement, comments skipped: 'CREATE ... TABLE batch_seq'."""
    lines = [ln for ln in sql.splitlines() if ln.strip() and not ln.strip().startswith("--")]
    words = " ".join(lines).split()
    if words[:1] == ["CREATE"]:
        return ["CREATE", words[words.index("TABLE") + 1]] if "TABLE" in words else words[:3]
    return words[:3]


def step_render(data: Path, day: str) -> dict:
    from pipeline.core.console import Console
    from pipeline.report import render_reports

    t = time.perf_counter()
    result = render_reports(_config(data), Console.silent(), day=date.fromisoformat(day))
    return {"seconds": time.perf_counter() - t, "pages": len(result.pages)}


def step_floor_copy(folder: Path, out: Path) -> dict:
    import duckdb

    files = sorted(p for p in folder.iterdir() if p.suffix in {".csv", ".parquet"})
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"temp_directory": str(out.parent / "duckdb-tmp")})
    t = time.perf_counter()
    for p in files:
        reader = "read_csv" if p.suffix == ".csv" else "read_parquet"
        con.execute(
            f"COPY (SELECT * FROM {reader}('{p}')) TO '{out / (p.stem + '.parquet')}' "
            "(FORMAT parquet)"
        )
    return {"seconds": time.perf_counter() - t, "files": len(files)}


def step_floor_query(data: Path, which: str) -> dict:
    import duckdb

    # spill under the work directory (DuckDB's default is ./.tmp in the current directory)
    con = duckdb.connect(config={"temp_directory": str(data.parent / "duckdb-tmp")})
    # the floor reads the table's files by their layout (not the Delta log: a plain engine)
    glob = str(data / "snapshots" / "campaign_id=*" / "snapshot_date=*" / "*.parquet")
    t = time.perf_counter()
    row = con.execute(FLOOR_LATEST if which == "latest" else FLOOR_LAG, [glob]).fetchall()[0]
    return {"seconds": time.perf_counter() - t, "result": list(row)}


def child_main(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    if kind == "gen":
        info = step_gen(WORKLOADS[rest[0]], Path(rest[1]), int(rest[2]), int(rest[3]))
    elif kind == "export":
        info = step_export(WORKLOADS[rest[0]], int(rest[1]), Path(rest[2]), rest[3])
    elif kind == "ingest":
        info = step_ingest(Path(rest[0]), Path(rest[1]))
    elif kind == "build":
        info = step_build(Path(rest[0]), full=rest[1:] == ["--full"])
    elif kind == "render":
        info = step_render(Path(rest[0]), rest[1])
    elif kind == "floor_copy":
        info = step_floor_copy(Path(rest[0]), Path(rest[1]))
    else:
        info = step_floor_query(Path(rest[0]), rest[1])
    info["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info), flush=True)


# ======================================================================== the driver (parent)
def run_step(*args: str) -> dict:
    """One step in a subprocess: its JSON, its wall time and its own peak RSS (MiB)."""
    info, wall, rss = benchkit.run_step(__file__, *args)
    return {**info, "wall": wall, "rss": rss}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class Bench:
    def __init__(self, wl: Workload, out: Path, runs: int, full_runs: int) -> None:
        self.wl, self.out, self.runs, self.full_runs = wl, out, runs, full_runs
        self.data = out / "data"
        self.steps: dict[str, list[dict]] = {}
        self.info: dict[str, Any] = {"workload": wl.__dict__, "runs": runs, "full_runs": full_runs}

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse" / "warehouse.duckdb"

    def record(self, name: str, result: dict) -> dict:
        self.steps.setdefault(name, []).append(result)
        return result

    def generate(self, first: int, last: int) -> int:
        r = run_step("gen", self.wl.name, str(self.data), str(first), str(last))
        log(
            f"published days {first + 1}-{last} into the store: {r['rows']:,} rows in "
            f"{r['seconds']:.1f} s ({r['rows'] / max(r['seconds'], 1e-9) / 1e6:.1f}M rows/s), "
            f"peak RSS {r['rss']:,.0f} MiB"
        )
        self.info.setdefault("generated_rows", 0)
        self.info["generated_rows"] += r["rows"]
        self.info.setdefault("generate_seconds", 0.0)
        self.info["generate_seconds"] += r["seconds"]
        return int(r["rows"])

    def build(self, name: str | None, *full: str) -> dict:
        r = run_step("build", str(self.data), *full)
        log(
            f"build{' --full' if full else ''}: {r['snapshots']:,} snapshots, {r['rows']:,} rows "
            f"in {r['seconds']:.1f} s, peak RSS {r['rss']:,.0f} MiB; history {r['history_rows']:,}"
        )
        return self.record(name, r) if name else r

    def export(self, day: int, fmt: str) -> Path:
        folder = self.out / "inbox" / f"day{day + 1:02d}-{fmt}"
        if folder.exists():
            shutil.rmtree(folder)
        r = run_step("export", self.wl.name, str(day), str(folder), fmt)
        self.info[f"day{day + 1}_rows"] = r["rows"]
        self.info[f"day{day + 1}_files"] = r["files"]
        log(f"day {day + 1} as {r['files']} {fmt} files, {r['rows']:,} rows, {r['seconds']:.1f} s")
        return folder

    def daily(self, day: int) -> None:
        """The daily run of ``day`` (0-based), ``runs`` times, putting the store and the
        warehouse back between runs; the last run's result stays."""
        inbox = self.export(day, "csv")
        label = day + 1
        iso = self.wl.day_start(day).date().isoformat()
        backup = self.out / "warehouse-before-day.duckdb"
        shutil.copyfile(self.warehouse, backup)
        log_backup = self.save_log()
        for k in range(self.runs):
            if k:
                self.put_back(log_backup, iso, backup)
            ing = self.record(
                f"ingest day {label} (daily run, CSV)",
                run_step("ingest", str(self.data), str(inbox)),
            )
            b = self.record(f"build day {label}", run_step("build", str(self.data)))
            r = self.record(f"render day {label}", run_step("render", str(self.data), iso))
            total = {
                "seconds": ing["seconds"] + b["seconds"] + r["seconds"],
                "wall": ing["wall"] + b["wall"] + r["wall"],
                "rss": max(ing["rss"], b["rss"], r["rss"]),
            }
            self.record(f"daily run day {label}", total)
            log(
                f"day {label} run {k + 1}: ingest {ing['rows']:,} rows {ing['seconds']:.1f} s, "
                f"build {b['seconds']:.1f} s ({b['rows']:,} rows), render {r['seconds']:.2f} s "
                f"({r['pages']} pages)"
            )
        if day == self.wl.days - 1 and "day5_rows" in self.info:
            self.same_volume(inbox, label, iso, backup, log_backup)
        backup.unlink()
        shutil.rmtree(log_backup)

    def save_log(self) -> Path:
        """A copy of the snapshot table's transaction log (small), to put the store back."""
        saved = self.out / "delta-log-before-day"
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(self.data / "snapshots" / "_delta_log", saved)
        return saved

    def put_back(self, log_backup: Path, iso: str, backup: Path) -> None:
        """The store and the warehouse as they were before the day: the table's log as saved,
        the day's files gone (a benchmark's shortcut: a Delta table is never rolled back so)."""
        log = self.data / "snapshots" / "_delta_log"
        shutil.rmtree(log)
        shutil.copytree(log_backup, log)
        for d in self.data.glob(f"snapshots/campaign_id=*/snapshot_date={iso}"):
            shutil.rmtree(d)
        (self.data / ".snapshot-index.parquet").unlink(missing_ok=True)
        shutil.copyfile(backup, self.warehouse)

    def same_volume(
        self, inbox: Path, label: int, iso: str, backup: Path, log_backup: Path
    ) -> None:
        """The incremental build of day ``label``'s first files (in time order) holding as many
        rows as day 5 had: the same new data with 25 more days of history before it. Then the
        whole day is put back."""
        subset = self.out / "inbox" / f"day{label:02d}-csv-day5-volume"
        shutil.rmtree(subset, ignore_errors=True)
        subset.mkdir(parents=True)
        rows = 0
        for path in sorted(inbox.iterdir(), key=lambda p: (p.name.rsplit("_", 1)[-1], p.name)):
            if rows >= self.info["day5_rows"]:
                break
            with open(path, "rb") as fh:
                rows += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
            (subset / path.name).symlink_to(path)

        def put_back() -> None:
            self.put_back(log_backup, iso, backup)

        for k in range(self.runs):
            put_back()
            run_step("ingest", str(self.data), str(subset))
            b = self.record(f"build day {label} (day-5 volume)", run_step("build", str(self.data)))
            log(
                f"day {label}, day 5's volume, run {k + 1}: build {b['seconds']:.2f} s "
                f"({b['rows']:,} rows)"
            )
        put_back()
        run_step("ingest", str(self.data), str(inbox))
        run_step("build", str(self.data))

    def ingest_vs_floor(self, day: int) -> None:
        csv = self.out / "inbox" / f"day{day + 1:02d}-csv"
        parquet = self.export(day, "parquet")
        for fmt, folder in (("CSV", csv), ("Parquet", parquet)):
            for k in range(self.runs):
                scratch = self.out / "scratch"
                shutil.rmtree(scratch, ignore_errors=True)
                f = self.record(
                    f"floor copy {fmt}", run_step("floor_copy", str(folder), str(scratch / "copy"))
                )
                i = self.record(
                    f"ingest {fmt} (empty store)",
                    run_step("ingest", str(scratch / "data"), str(folder)),
                )
                log(f"{fmt} run {k + 1}: ingest {i['seconds']:.1f} s, COPY {f['seconds']:.1f} s")
            shutil.rmtree(self.out / "scratch", ignore_errors=True)

    def floors(self) -> None:
        for k in range(self.full_runs):
            a = self.record("floor latest", run_step("floor", str(self.data), "latest"))
            b = self.record("floor lag", run_step("floor", str(self.data), "lag"))
            self.record(
                "floor latest + lag",
                {
                    "seconds": a["seconds"] + b["seconds"],
                    "wall": a["wall"] + b["wall"],
                    "rss": max(a["rss"], b["rss"]),
                },
            )
            log(
                f"floors run {k + 1}: latest {a['seconds']:.1f} s ({a['result'][0]:,} contacts), "
                f"lag {b['seconds']:.1f} s ({b['result']} days, changes)"
            )

    def run(self, resume: bool = False) -> None:
        wl = self.wl
        log(
            f"workload {wl.name}: {wl.campaigns} campaigns, {wl.contacts:,} contacts, {wl.days} "
            f"days, {wl.snapshots():,} snapshots, ~{wl.nominal_rows():,} rows -> {self.data}"
        )
        if resume:
            # the store already holds days 1-29 (an earlier run with --keep, or one that stopped
            # after publishing them): bring the warehouse up to date, then go on from day 30
            log("resuming: the store holds days 1-29; day 5 is not measured")
            self.info["resumed"] = True
            self.build(None)
        else:
            self.generate(0, 4)
            self.info["build_days_1_4"] = self.build(None)["seconds"]
            self.daily(4)
            self.generate(5, wl.days - 1)
            self.info["build_days_6_29"] = self.build(None)["seconds"]
        self.daily(wl.days - 1)
        self.ingest_vs_floor(wl.days - 1)
        for _ in range(self.full_runs):
            self.build("build --full", "--full")
        self.floors()
        self.info["parquet_mib"] = (
            sum(p.stat().st_size for p in (self.data / "snapshots").rglob("*.parquet")) / 2**20
        )
        self.info["warehouse_mib"] = self.warehouse.stat().st_size / 2**20


# ============================================================================= the table
def med(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def report(b: Bench) -> str:
    s, wl, info = b.steps, b.wl, b.info
    rss_limit = 4096 if wl.name == "L" else 2048
    lines: list[str] = []
    rows: list[tuple[str, str, str, str, str, str, str, str]] = []

    def add(name: str, data: str, key: str, floor: float | None, target: str, ok: bool | None):
        runs = s[key]
        secs = med(runs)
        rows.append(
            (
                name,
                data,
                f"{secs:.2f}",
                str(len(runs)),
                f"{max(r['rss'] for r in runs):,.0f}",
                "" if floor is None else f"{floor:.2f}",
                "" if floor is None else f"{secs / floor:.2f}",
                target,
                "" if ok is None else ("pass" if ok else "FAIL"),
            )
        )

    d30 = wl.days
    has5 = "build day 5" in s  # not with --resume

    # the issue sets the incremental and render targets on M: other workloads show them for
    # reference, without pass/fail
    def m_target(text: str) -> str:
        return text if wl.name == "M" else f"(M: {text})"

    def m_ok(ok: bool) -> bool | None:
        return ok if wl.name == "M" else None

    day5_rows, day30_rows = info.get("day5_rows", 0), info[f"day{d30}_rows"]
    copy_csv, copy_pq = med(s["floor copy CSV"]), med(s["floor copy Parquet"])
    ing_csv = med(s["ingest CSV (empty store)"])
    full, floor = med(s["build --full"]), med(s["floor latest + lag"])
    inc5, inc30 = med(s["build day 5"]) if has5 else 0.0, med(s[f"build day {d30}"])
    render = med(s[f"render day {d30}"])
    day_files = info[f"day{d30}_files"]
    add(
        f"ingest CSV, day {d30}",
        f"{day_files} files {day30_rows:,} rows",
        "ingest CSV (empty store)",
        copy_csv,
        "<= 1.5 x COPY",
        ing_csv <= 1.5 * copy_csv,
    )
    add("  floor: DuckDB COPY CSV->Parquet", "same files", "floor copy CSV", None, "", None)
    add(
        f"ingest Parquet, day {d30}",
        f"{day_files} files {day30_rows:,} rows",
        "ingest Parquet (empty store)",
        copy_pq,
        "(x COPY Parquet)",
        None,
    )
    add("  floor: DuckDB COPY Parquet->Parquet", "same files", "floor copy Parquet", None, "", None)
    raw = s["build --full"][-1]["rows"]
    add("build --full", f"{raw:,} rows", "build --full", floor, "<= 2 x floor", full <= 2 * floor)
    add("  floor: latest + lag (sum)", "raw Parquet", "floor latest + lag", None, "", None)
    add("  floor: latest state per contact", "raw Parquet", "floor latest", None, "", None)
    add("  floor: lag transitions per day", "raw Parquet", "floor lag", None, "", None)
    if has5:
        add("build, incremental day 5", f"{day5_rows:,} new rows", "build day 5", None, "", None)
    add(
        f"build, incremental day {d30}",
        f"{day30_rows:,} new rows",
        f"build day {d30}",
        inc5 if has5 else None,
        m_target("<= 1.3 x day 5") if has5 else "",
        m_ok(inc30 <= 1.3 * inc5) if has5 else None,
    )
    if f"build day {d30} (day-5 volume)" in s:
        same = s[f"build day {d30} (day-5 volume)"]
        add(
            f"  day {d30}, day 5's volume only",
            f"{same[-1]['rows']:,} new rows",
            f"build day {d30} (day-5 volume)",
            inc5,
            m_target("<= 1.3 x day 5"),
            m_ok(med(same) <= 1.3 * inc5),
        )
    add(
        f"  day {d30} vs build --full",
        "",
        f"build day {d30}",
        full,
        m_target("< 0.10 x full"),
        m_ok(inc30 < 0.10 * full),
    )
    if has5:
        add(
            "render, day 5 (all pages)",
            "",
            "render day 5",
            None,
            "(< 2 s on a quiet machine)",
            None,
        )
    add(
        f"render, day {d30} (all pages)",
        "",
        f"render day {d30}",
        None,
        "(< 2 s on a quiet machine)",
        None,
    )
    if has5:
        # a ratio measured in this run, like the build's (2 s depends on the machine and its
        # load): a page costs about the same on day 30 as on day 5, with 25 more days of history
        pages5, pages30 = s["render day 5"][-1]["pages"], s[f"render day {d30}"][-1]["pages"]
        per5, per30 = med(s["render day 5"]) / pages5, render / pages30
        rows.append(
            (
                f"  day {d30} per page vs day 5",
                f"{pages30} pages vs {pages5}",
                f"{per30:.3f}",
                str(len(s[f"render day {d30}"])),
                "",
                f"{per5:.3f}",
                f"{per30 / per5:.2f}",
                m_target("<= 1.3 x day 5"),
                {True: "pass", False: "FAIL", None: ""}[m_ok(per30 <= 1.3 * per5)],
            )
        )
    if has5:
        add("ingest day 5 into the store", "CSV", "ingest day 5 (daily run, CSV)", None, "", None)
    add(
        f"ingest day {d30} into the store",
        "CSV",
        f"ingest day {d30} (daily run, CSV)",
        copy_csv,
        "",
        None,
    )
    if has5:
        add("daily run day 5", "ingest+build+render", "daily run day 5", None, "", None)
    add(f"daily run day {d30}", "ingest+build+render", f"daily run day {d30}", None, "", None)

    pipeline_steps = [k for k in s if not k.startswith("floor")]
    peak = max(r["rss"] for k in pipeline_steps for r in s[k])
    peak_step = max(pipeline_steps, key=lambda k: max(r["rss"] for r in s[k]))
    widths = [36, 26, 8, 4, 9, 8, 7, 16, 5]
    head = ("step", "data", "median s", "runs", "peak MiB", "floor s", "x floor", "target", "")
    fmt = "  ".join(f"{{:{'<' if i in (0, 1, 7) else '>'}{w}}}" for i, w in enumerate(widths))
    lines.append(fmt.format(*head))
    lines.append("-" * (sum(widths) + 2 * len(widths)))
    lines += [fmt.format(*r) for r in rows]
    lines.append("")
    lines.append(
        f"peak RSS of the pipeline's steps: {peak:,.0f} MiB ({peak_step}); target < "
        f"{rss_limit:,} MiB: {'pass' if peak < rss_limit else 'FAIL'}"
    )
    if has5:
        lines.append(
            f"incremental day {d30} per new row vs day 5 per new row: "
            f"{(inc30 / day30_rows) / (inc5 / day5_rows):.2f} x "
            f"(day {d30} has {day30_rows / day5_rows:.1f} x the new rows of day 5)"
        )
    history = s["build --full"][-1]["history_rows"]
    lines.append(
        f"state history: {history:,} rows for {raw:,} snapshot rows "
        f"({history / raw:.3%}, {raw / history:.0f} snapshot rows per history row); "
        f"{wl.contacts:,} contacts"
    )
    lines.append(
        f"store: {info['parquet_mib']:,.0f} MiB Parquet; warehouse {info['warehouse_mib']:,.0f} MiB"
        + (
            f"; generated {info['generated_rows']:,} rows in {info['generate_seconds']:.0f} s"
            if "generated_rows" in info
            else ""
        )
    )
    for key in (
        "build --full",
        f"build day {d30}",
        f"build day {d30} (day-5 volume)",
        "build day 5",
    ):
        if key not in s:
            continue
        runs = s[key]
        mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        lines.append(f"\nwhere the time of '{key}' goes ({mid['seconds']:.2f} s, median run):")
        for phase, secs in sorted(mid["phases"].items(), key=lambda kv: -kv[1]):
            if secs >= 0.01:
                lines.append(f"  {secs:8.2f} s  {secs / mid['seconds']:6.1%}  {phase}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="S")
    parser.add_argument("--runs", type=int, default=3, help="runs of each short step (median)")
    parser.add_argument(
        "--full-runs",
        type=int,
        help="runs of the full build and its floor (default: 1 on L, else --runs)",
    )
    parser.add_argument("--out", type=Path, help="work directory (default /tmp/scale/<workload>)")
    parser.add_argument("--keep", action="store_true", help="keep the data at the end")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the store in --out (days 1-29, from a run with --keep) and go on from day 30 "
        "(day 5 is not measured)",
    )
    args = parser.parse_args()
    wl = WORKLOADS[args.workload]
    out = args.out or Path("/tmp/scale") / wl.name
    full_runs = args.full_runs or (1 if wl.name == "L" else args.runs)
    if args.resume:
        if not (out / "data" / "snapshots" / "_delta_log").is_dir():
            raise SystemExit(f"--resume: no store in {out / 'data'}")
        last = wl.day_start(wl.days - 1).date().isoformat()
        if any((out / "data" / "snapshots").glob(f"campaign_id=*/snapshot_date={last}")):
            raise SystemExit(
                f"--resume: the store in {out / 'data'} already holds day {wl.days} ({last}); "
                "it must hold days 1-29 only (as a run that stopped before day 30 leaves it)"
            )
    else:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
    bench = Bench(wl, out, args.runs, full_runs)
    t = time.perf_counter()
    try:
        bench.run(resume=args.resume)
        text = report(bench)
        bench.info["total_seconds"] = time.perf_counter() - t
        (out / "results.json").write_text(
            json.dumps({"info": bench.info, "steps": bench.steps}, indent=1, default=str)
        )
        print(f"\nworkload {wl.name}, {bench.info['total_seconds']:.0f} s in all\n")
        print(text)
        (out / "results.txt").write_text(text + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(out / "data", ignore_errors=True)
            shutil.rmtree(out / "inbox", ignore_errors=True)
            shutil.rmtree(out / "duckdb-tmp", ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_step":
        child_main(sys.argv[2:])
    else:
        main()
