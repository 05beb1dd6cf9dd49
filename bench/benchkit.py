"""Shared by the benchmarks: run a command in a subprocess and measure it.

Peak memory is the child's own ``ru_maxrss`` from ``os.wait4``; ``getrusage(RUSAGE_CHILDREN)``
would give the maximum over every child so far.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def run_measured(cmd: list[str], *, capture: bool = False) -> tuple[float, float, str]:
    """Run ``cmd``: (wall seconds, its own peak RSS in MiB, its stdout if ``capture``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else None, text=True)
    out = proc.stdout.read() if proc.stdout is not None else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed with exit code {code}")
    return wall, usage.ru_maxrss / 1024, out


def run_step(script: str | Path, *args: str) -> tuple[dict, float, float]:
    """Run ``script _step ARGS`` (a benchmark's own step mode, which prints one JSON line last):
    (that JSON, wall seconds, peak RSS in MiB)."""
    wall, rss, out = run_measured([sys.executable, str(script), "_step", *args], capture=True)
    return json.loads(out.strip().splitlines()[-1]), wall, rss
