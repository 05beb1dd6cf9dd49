"""Start-up time of the command line: ``--help``, ``--version`` and every command's ``--help``,
then what a command loads once it runs (the modules of its stages).

Each line runs ``python -m pipeline ARGS`` in a fresh process ``--runs`` times (wall time from
``time.perf_counter`` around the whole process) and prints the median, min and max beside the
target. The floor is the interpreter alone (``python -c pass``). The code measured is this
checkout's (its root goes first on PYTHONPATH), not whatever is installed.

    python bench/startup_bench.py              # 10 runs of each
    python bench/startup_bench.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from benchkit import run_measured

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.cli import cli  # noqa: E402

#: command -> the stage modules it imports when it runs (what ``--help`` does not pay)
STAGES = {
    "ingest": ["pipeline.store.ingest", "pipeline.store.snapshots"],
    "build": ["pipeline.warehouse.build"],
    "report": ["pipeline.report"],
    "daily": [
        "pipeline.store.ingest",
        "pipeline.store.snapshots",
        "pipeline.warehouse.build",
        "pipeline.report",
    ],
}

#: seconds, on an idle machine
TOP_TARGET = 0.3
COMMAND_TARGET = 0.5


def cases() -> list[tuple[str, list[str], float | None]]:
    """(label, arguments of ``python -m pipeline``, target seconds)."""
    out: list[tuple[str, list[str], float | None]] = [
        ("--help", ["--help"], TOP_TARGET),
        ("--version", ["--version"], TOP_TARGET),
    ]
    out += [(f"{name} --help", [name, "--help"], COMMAND_TARGET) for name in sorted(cli.commands)]
    return out


def measure(args: list[str], runs: int) -> list[float]:
    return [run_measured(args, capture=True)[0] for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each line (default 10)")
    opts = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
    )
    python = [sys.executable]
    header = f"{'command':<22} {'median s':>9} {'min s':>7} {'max s':>7}  target"
    print(f"{opts.runs} runs each; {sys.executable} {sys.version.split()[0]}; load {_load()}")
    print(header)
    print("-" * len(header) + "-------")
    floor = measure([*python, "-c", "pass"], opts.runs)
    print(_line("python -c pass (floor)", floor, None))
    failed = 0
    for label, args, target in cases():
        times = measure([*python, "-m", "pipeline", *args], opts.runs)
        print(_line(label, times, target))
        failed += target is not None and statistics.median(times) >= target
    print(f"\n{failed} line(s) over target" if failed else "\nevery line within its target")
    print("\nLoading the stages a command runs (python -c 'import ...'; no target):")
    loads = {}
    for name, modules in STAGES.items():
        loads[name] = measure([*python, "-c", f"import {', '.join(modules)}"], opts.runs)
        print(_line(f"{name} stages", loads[name], None))
    apart = sum(statistics.median(loads[n]) for n in ("ingest", "build", "report"))
    print(
        f"ingest + build + report as three commands load for {apart:.2f} s; "
        f"daily, one process: {statistics.median(loads['daily']):.2f} s"
    )


def _line(label: str, times: list[float], target: float | None) -> str:
    median = statistics.median(times)
    verdict = ""
    if target is not None:
        verdict = f"< {target:.1f} s  {'pass' if median < target else 'FAIL'}"
    return f"{label:<22} {median:9.3f} {min(times):7.3f} {max(times):7.3f}  {verdict}"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "-"


if __name__ == "__main__":
    main()
