"""The Spark job on one machine beside the DuckDB warehouse build, on the same store.

A deterministic workload (``bench/workload.py``: campaigns starting across the period, hourly
snapshots in each campaign's first 48 hours and four a day after that) is published into a store;
then each step runs in its own subprocess, timed and with its peak memory:

1. ``build --full``: the DuckDB warehouse (compact history, milestones, daily tables, analyst copy)
   with the configured memory limit (1.5 GB);
2. the Spark job (``campaign-reports spark``) on ``local[2]``, the driver JVM given
   ``--spark-memory``; its time is the job's own (``run_job``) and, apart, the JVM's start-up;
   its memory is the Python process's peak plus the JVM's (``VmHWM`` of the JVM read before it
   stops: the JVM is not a child the Python process waits for, so ``ru_maxrss`` misses it);
3. the same portable SQL on DuckDB (``run_duckdb``): the engines on the same definitions;
4. ``build --from-spark``: the warehouse loaded from the Spark results (checked equal to the
   full build, table for table).

    python bench/spark_bench.py                        # 200k contacts, ~21M rows (a few minutes)
    python bench/spark_bench.py --contacts 10000       # a quick check (~1M rows)

Results also go to ``<out>/results.json``; the data is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import benchkit  # noqa: E402
from workload import Workload, write_days  # noqa: E402

SHUFFLE_PARTITIONS = "8"


def _config(data: Path) -> Any:
    from pipeline.core.config import Config

    return Config(data_dir=data)


def _peak_mib(pid: int | str = "self") -> float:
    """A process's peak resident memory (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# =================================================================== steps (in a subprocess)
def step_gen(contacts: int, campaigns: int, days: int, data: Path) -> dict:
    wl = Workload("B", campaigns, contacts, days)
    t = time.perf_counter()
    rows = write_days(wl, data, range(days))
    return {"rows": rows, "snapshots": wl.snapshots(), "seconds": time.perf_counter() - t}


def step_build(data: Path) -> dict:
    from pipeline.core.console import Console
    from pipeline.warehouse.build import build

    t = time.perf_counter()
    result = build(_config(data), Console.silent(), full=True)
    return {"seconds": time.perf_counter() - t, "history_rows": result.history_rows}


def step_spark(data: Path, out: Path, memory: str) -> dict:
    from pipeline.core.console import Console
    from pipeline.spark.job import run_job, session
    from pipeline.spark.portable import Params
    from pipeline.store.snapshots import Store

    config = _config(data)
    settings = {
        "spark.driver.memory": memory,
        "spark.sql.shuffle.partitions": SHUFFLE_PARTITIONS,
        "spark.local.dir": str(out.parent / "spark-tmp"),
    }
    t0 = time.perf_counter()
    with session("local[2]", settings) as spark:
        started = time.perf_counter() - t0
        t = time.perf_counter()
        result = run_job(
            spark, Store(data), str(out), Params.of(config, None, None), Console.silent()
        )
        seconds = time.perf_counter() - t
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        jvm_peak = _peak_mib(int(jvm.java.lang.ProcessHandle.current().pid()))
    return {
        "seconds": seconds,
        "startup": started,
        "jvm_peak_mb": jvm_peak,
        "python_peak_mb": _peak_mib(),
        "snapshots": result.snapshots,
        "rows": result.rows,
    }


def step_portable(data: Path) -> dict:
    import duckdb

    from pipeline.spark.portable import Params, run_duckdb
    from pipeline.store.snapshots import Store

    config = _config(data)
    con = duckdb.connect(config={"temp_directory": str(data.parent / "duckdb-tmp")})
    con.execute("SET memory_limit = ?", [config.memory_limit])
    t = time.perf_counter()
    outputs = run_duckdb(con, Store(data).complete_files(), Params.of(config, None, None))
    seconds = time.perf_counter() - t
    counts = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in outputs}
    return {"seconds": seconds, "rows_out": counts}


def step_load(data: Path, out: Path, expected: Path) -> dict:
    from pipeline.core.console import Console
    from pipeline.warehouse.build import build
    from pipeline.warehouse.db import warehouse_paths

    config = _config(data)
    t = time.perf_counter()
    result = build(config, Console.silent(), from_spark=out)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "campaigns_rebuilt": len(result.campaigns_rebuilt),
        "differences": differences(expected, warehouse_paths(config)[0]),
    }


def differences(left: Path, right: Path) -> dict[str, list[int]]:
    import duckdb

    from pipeline.warehouse.steps import RESULT_TABLES

    con = duckdb.connect()
    con.execute(f"ATTACH '{left}' AS l (READ_ONLY)")
    con.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
    out = {}
    for table in RESULT_TABLES:
        cols = "*"
        if table == "daily_moves":
            cols = (
                "* REPLACE (round(median_minutes_in_from_state, 9) AS median_minutes_in_from_state)"
            )
        a, b = (
            con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} "
                f"EXCEPT ALL SELECT {cols} FROM {y}.{table})"
            ).fetchall()[0][0]
            for x, y in (("l", "r"), ("r", "l"))
        )
        if a or b:
            out[table] = [a, b]
    con.close()
    return out


def child_main(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    if kind == "gen":
        info = step_gen(int(rest[0]), int(rest[1]), int(rest[2]), Path(rest[3]))
    elif kind == "build":
        info = step_build(Path(rest[0]))
    elif kind == "spark":
        info = step_spark(Path(rest[0]), Path(rest[1]), rest[2])
    elif kind == "portable":
        info = step_portable(Path(rest[0]))
    else:
        info = step_load(Path(rest[0]), Path(rest[1]), Path(rest[2]))
    info["self_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(info), flush=True)


# ======================================================================== the driver (parent)
def run_step(*args: str) -> dict:
    info, wall, rss = benchkit.run_step(__file__, *args)
    return {**info, "wall": wall, "rss": rss}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000, help="contacts in all campaigns")
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--spark-memory", default="2g", help="spark.driver.memory (local mode)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/spark-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the data at the end")
    args = parser.parse_args()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data, results = out / "data", out / "spark-out"
    log(
        f"generating {args.contacts:,} contacts in {args.campaigns} campaigns over {args.days} days"
    )
    gen = run_step("gen", str(args.contacts), str(args.campaigns), str(args.days), str(data))
    log(f"  {gen['rows']:,} rows in {gen['snapshots']:,} snapshots ({gen['seconds']:.0f} s)")
    log("DuckDB: build --full")
    duck = run_step("build", str(data))
    expected = out / "expected.duckdb"
    shutil.copyfile(data / "warehouse" / "warehouse.duckdb", expected)
    log(f"  {duck['seconds']:.1f} s, peak {duck['rss']:,.0f} MiB")
    log("Spark: the job on local[2]")
    spark = run_step("spark", str(data), str(results), args.spark_memory)
    spark_peak = spark["python_peak_mb"] + spark["jvm_peak_mb"]
    log(f"  {spark['seconds']:.1f} s (+{spark['startup']:.1f} s start), peak {spark_peak:,.0f} MiB")
    log("DuckDB: the portable SQL")
    portable = run_step("portable", str(data))
    log(f"  {portable['seconds']:.1f} s, peak {portable['rss']:,.0f} MiB")
    log("DuckDB: build --from-spark")
    load = run_step("load", str(data), str(results), str(expected))
    log(
        f"  {load['seconds']:.1f} s, peak {load['rss']:,.0f} MiB; differences {load['differences']}"
    )

    lines = [
        f"{gen['rows']:,} snapshot rows, {gen['snapshots']:,} snapshots, {args.contacts:,} "
        f"contacts, {args.campaigns} campaigns, {args.days} days; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "",
        f"{'step':44} {'seconds':>9} {'wall s':>8} {'peak MiB':>9}",
        "-" * 73,
        f"{'DuckDB build --full (memory_limit 1.5GB)':44} {duck['seconds']:9.1f} "
        f"{duck['wall']:8.1f} {duck['rss']:9,.0f}",
        f"{'Spark job, local[2], driver ' + args.spark_memory:44} {spark['seconds']:9.1f} "
        f"{spark['wall']:8.1f} {spark_peak:9,.0f}",
        f"{'  JVM start-up (not in seconds)':44} {spark['startup']:9.1f}",
        f"{'  peak: JVM + Python':44} {'':9} {'':8} "
        f"{spark['jvm_peak_mb']:,.0f} + {spark['python_peak_mb']:,.0f}",
        f"{'DuckDB, the same portable SQL':44} {portable['seconds']:9.1f} "
        f"{portable['wall']:8.1f} {portable['rss']:9,.0f}",
        f"{'DuckDB build --from-spark (load, then steps)':44} {load['seconds']:9.1f} "
        f"{load['wall']:8.1f} {load['rss']:9,.0f}",
        "",
        f"Spark / DuckDB build: {spark['seconds'] / duck['seconds']:.1f} x the time, "
        f"{spark_peak / duck['rss']:.1f} x the memory; loaded warehouse equals the full build: "
        f"{'yes' if not load['differences'] else load['differences']}",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    (out / "results.txt").write_text(text + "\n")
    (out / "results.json").write_text(
        json.dumps(
            {"gen": gen, "build": duck, "spark": spark, "portable": portable, "load": load},
            indent=1,
        )
    )
    if not args.keep:
        for path in (data, results, expected, out / "spark-tmp", out / "duckdb-tmp"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_step":
        child_main(sys.argv[2:])
    else:
        main()
