"""The project against the analyst's own script on the demo tenant: first run and the next day.

    python bench/first_run_bench.py [--scale 1.0] [--rounds 3] [--work /tmp/first-run-bench]

Steps, each timed with the peak RSS of its process tree (``/proc`` polled every 20 ms, and the
child's own ``ru_maxrss``), in ``--rounds`` interleaved rounds whose order rotates:

- project, first run: the demo's export files to HTML as a user runs them: ``campaign-reports
  daily --encoding utf-8,cp1250`` of every file (ingest, build and report in one process; the
  Czech Excel files are cp1250, the rest UTF-8), on an empty data directory;
- pandas peer (``pandas_peer.py``) and plain DuckDB (``plain_duckdb.py``) over every file;
- project, next day: the last day's files only (``daily`` of them) on a copy of a data
  directory holding the earlier days, and the same as separate commands (``ingest``, ``build``,
  ``report``): what one process saves.
  The peers keep no state, so their next day is their first run again (the same files and
  work): the daily ratio uses the pandas peer's first-run time of the same round.

The peers' numbers are checked equal to the project's warehouse (``state_counts``,
``campaign_daily`` and ``funnel`` of the analyst copy) after the first round. Needs pandas
(``pip install pandas``); the demo files are written once into ``--work`` (``--exports DIR``
reuses files a ``campaign-reports demo`` wrote).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "pipeline"]
TARGETS = {  # step -> (compared with, max ratio)
    "first run": [("pandas peer", 0.8), ("plain DuckDB", 1.2)],
    "next day": [("pandas peer", 0.2)],
}


# ------------------------------------------------------------------------ measuring a process tree
def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def run_tree(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``cmd`` to the end: (wall seconds, peak RSS of its process tree in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:5])} ... failed:\n{err[-2000:]}")
    return wall, max(peak[0] / 2**20, usage.ru_maxrss / 1024)


def run_steps(cmds: list[list[str]], env: dict[str, str]) -> tuple[float, float]:
    """Several commands one after the other: (total seconds, the highest peak)."""
    results = [run_tree(c, env) for c in cmds]
    return sum(r[0] for r in results), max(r[1] for r in results)


# ----------------------------------------------------------------------------------- the files
def demo_files(work: Path, scale: float, env: dict[str, str]) -> Path:
    exports = work / "demo" / "demo-exports"
    if not exports.is_dir():
        print(f"writing the demo files (scale {scale:g}) into {exports} ...", flush=True)
        subprocess.run(
            [*CLI, "-q", "--data-dir", str(work / "demo"), "demo", "--scale", str(scale)],
            check=True,
            env=env,
            cwd=ROOT,
        )
    return exports


def project_cmds(data_dir: Path, files: list[Path]) -> list[list[str]]:
    """What a user types: one ``daily`` of every file, the Czech Excel exports (cp1250) among
    the UTF-8 ones (``--encoding utf-8,cp1250``)."""
    base = [*CLI, "-q", "--data-dir", str(data_dir)]
    return [[*base, "daily", "--encoding", "utf-8,cp1250", *map(str, files)]]


def separate_cmds(data_dir: Path, files: list[Path]) -> list[list[str]]:
    """The same as ``project_cmds`` with a command per stage: ingest, build, report."""
    base = [*CLI, "-q", "--data-dir", str(data_dir)]
    ingest = [*base, "ingest", "--encoding", "utf-8,cp1250", *map(str, files)]
    return [ingest, [*base, "build"], [*base, "report"]]


def local_day(path: Path) -> str:
    stamp = path.name.split("_")[1][:15]
    utc = datetime.strptime(stamp + "+0000", "%Y%m%dT%H%M%S%z")
    return utc.astimezone(ZoneInfo("Europe/Prague")).date().isoformat()


# ---------------------------------------------------------------------------- equal numbers
def check_equal(analyst: Path, peer_out: Path, name: str) -> str:
    """The peer's per-snapshot counts, daily funnel and funnel equal the project's."""
    import duckdb

    db = duckdb.connect(str(analyst), read_only=True)
    db.execute("SET TimeZone = 'UTC'")
    csv = "read_csv('{}', types = {{'campaign_id': 'VARCHAR'}})"
    t = "strftime(snapshot_time, '%Y-%m-%dT%H:%M:%S')"
    states = (
        "initial, in_progress, retry_scheduled, sent, delivered, read, delivery_failed, "
        "sending_failed, error, invalid_record, removed, canceled_by_admin, other"
    )
    funnel = f"campaign_id, {t}, contacts, reached_sent, reached_delivered, reached_read"
    pairs = {
        "state counts per snapshot": (
            f"SELECT campaign_id, {t}, state, contacts FROM state_counts WHERE contacts > 0",
            f"SELECT campaign_id, {t}, state, contacts FROM "
            + csv.format(peer_out / "snapshot_counts.csv"),
        ),
        "campaign and day (states, furthest-stage funnel)": (
            f"SELECT {funnel}, CAST(day AS VARCHAR), {states} FROM campaign_daily",
            f"SELECT {funnel}, CAST(day AS VARCHAR), {states} FROM "
            + csv.format(peer_out / "daily.csv"),
        ),
        "funnel now": (
            f"SELECT {funnel} FROM funnel",
            f"SELECT {funnel} FROM " + csv.format(peer_out / "funnel.csv"),
        ),
    }
    sizes = []
    for what, (ours, theirs) in pairs.items():
        a, b = set(db.execute(ours).fetchall()), set(db.execute(theirs).fetchall())
        if a != b:
            raise SystemExit(
                f"{name} differs from the project in {what}: {len(a - b)} row(s) only in the "
                f"project (e.g. {sorted(a - b)[:2]}), {len(b - a)} only in the peer "
                f"(e.g. {sorted(b - a)[:2]})"
            )
        sizes.append(f"{len(a):,} {what}")
    return f"{name}: equal to the project ({'; '.join(sizes)})"


# ------------------------------------------------------------------------------------ the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="demo scale (default 1.0)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/first-run-bench"))
    parser.add_argument("--exports", type=Path, help="demo export files to reuse")
    args = parser.parse_args()
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise SystemExit("the pandas peer needs pandas: pip install pandas") from None
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    exports = args.exports or demo_files(work, args.scale, env)
    files = sorted(exports.glob("campaign-*"))
    if not files:
        raise SystemExit(f"no export files (campaign-*) in {exports}")
    last = max(local_day(p) for p in files)
    earlier = [p for p in files if local_day(p) < last]
    today = [p for p in files if local_day(p) == last]
    base = work / "earlier-days"
    if not base.exists():
        print(f"preparing a data directory with the days before {last} ...", flush=True)
        for cmd in project_cmds(base, earlier):
            subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    steps = {
        "project, first run": lambda d: project_cmds(d, files),
        "pandas peer": lambda d: [
            [sys.executable, str(BENCH / "pandas_peer.py"), str(exports), str(d)]
        ],
        "plain DuckDB": lambda d: [
            [sys.executable, str(BENCH / "plain_duckdb.py"), str(exports), str(d)]
        ],
        "project, next day": lambda d: project_cmds(d, today),
        "next day, 4 commands": lambda d: separate_cmds(d, today),
    }
    load_before = os.getloadavg()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    order = list(steps)
    for r in range(args.rounds):
        rotated = order[r % len(order) :] + order[: r % len(order)]
        for name in rotated:
            out = work / f"round{r}" / name.replace(" ", "-").replace(",", "")
            shutil.rmtree(out, ignore_errors=True)
            if name in ("project, next day", "next day, 4 commands"):
                shutil.copytree(base, out)
            results[name].append(run_steps(steps[name](out), env))
            print(f"round {r + 1}: {name}: {results[name][-1][0]:.1f} s", flush=True)
        if r == 0:
            analyst = work / "round0" / "project-first-run" / "warehouse" / "analyst.duckdb"
            day_analyst = work / "round0" / "project-next-day" / "warehouse" / "analyst.duckdb"
            for peer in ("pandas peer", "plain DuckDB"):
                peer_out = work / "round0" / peer.replace(" ", "-")
                print(check_equal(analyst, peer_out, peer))
                print(check_equal(day_analyst, peer_out, peer + " (next day's warehouse)"))
    report(results, files, today, load_before, args)


def report(results: dict, files: list[Path], today: list[Path], load_before: tuple, args) -> None:
    med = {k: statistics.median(w for w, _ in v) for k, v in results.items()}
    peak = {k: max(m for _, m in v) for k, v in results.items()}
    results["pandas peer, next day (= its first run)"] = results["pandas peer"]
    print()
    print(
        f"files: {len(files)} ({len(today)} on the last day) from "
        f"{args.exports or f'the demo at scale {args.scale:g}'}; "
        f"{args.rounds} rounds, rotated order"
    )
    print(f"{'step':<22}{'median s':>10}{'min s':>8}{'max s':>8}{'peak MiB':>10}")
    for k in steps_order(results):
        walls = [w for w, _ in results[k]]
        print(
            f"{k:<22}{statistics.median(walls):>10.1f}{min(walls):>8.1f}{max(walls):>8.1f}"
            f"{max(m for _, m in results[k]):>10,.0f}"
        )
    print()
    for ours, key in (("first run", "project, first run"), ("next day", "project, next day")):
        for peer, target in TARGETS[ours]:
            ratio = med[key] / med[peer]
            verdict = "pass" if ratio <= target else "FAIL"
            # the steps of one round ran minutes apart: their ratio is less swayed by other load
            rounds = [a[0] / b[0] for a, b in zip(results[key], results[peer], strict=True)]
            print(
                f"{ours}: project / {peer} = {ratio:.2f} (target <= {target}) {verdict}; "
                f"per round {', '.join(f'{x:.2f}' for x in rounds)}"
            )
    ratio = med["project, next day"] / med["next day, 4 commands"]
    print(f"next day: daily (one process) / ingest, build, report apart = {ratio:.2f}")
    for key in ("project, first run", "project, next day"):
        ratio = peak[key] / peak["pandas peer"]
        verdict = "pass" if ratio < 0.5 else "FAIL"
        print(f"peak memory, {key}: {ratio:.2f} x the pandas peer's (target < 0.5) {verdict}")
    print()
    print(machine(load_before))


def steps_order(results: dict) -> list[str]:
    return [k for k in results if not k.startswith("pandas peer, next")]


def machine(load_before: tuple) -> str:
    import duckdb
    import pandas
    import polars

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    la = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{mem:.0f} GiB RAM; Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"polars {polars.__version__}, pandas {pandas.__version__}\n"
        f"load average before {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}, "
        f"after {la[0]:.1f} {la[1]:.1f} {la[2]:.1f}"
    )


if __name__ == "__main__":
    main()
