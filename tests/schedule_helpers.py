"""Shared pieces of the scheduler tests: a fake clock, recording adapters, configs, subprocesses.

Also a small program (``python tests/schedule_helpers.py slow ...``) that runs the real CLI with
a fake job that runs until the test releases it, for the signal tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from wait_helpers import GUARD, wait_until

from pipeline.core.config import Config, JobConfig, ScheduleConfig
from pipeline.core.console import Console
from pipeline.schedule.jobs import JobContext, JobResult
from pipeline.schedule.runner import Scheduler
from pipeline.store.runlog import RunLog

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "pipeline"]
PRAGUE = "Europe/Prague"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class FakeClock:
    """Time stands still until ``advance`` or ``sleep``; jobs may take time with ``cost``."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@dataclass
class Call:
    job: str
    kind: str
    key: str
    at: datetime
    day: Any = None


@dataclass
class Recorder:
    """Fake adapters: record each call; fail while ``failing`` names the kind."""

    clock: FakeClock
    calls: list[Call] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    seconds: float = 30.0  # each job takes this long on the fake clock

    def adapter(self, ctx: JobContext) -> JobResult:
        self.calls.append(Call(ctx.job.name, ctx.job.kind, ctx.due.key, self.clock(), ctx.due.day))
        self.clock.advance(seconds=self.seconds)
        if ctx.job.kind in self.failing:
            from pipeline.core.errors import PipelineError

            raise PipelineError(f"{ctx.job.kind} failed (test)")
        return JobResult(rows=10, snapshots=1 if ctx.job.kind in ("export", "ingest") else 0)

    def adapters(self) -> dict[str, Callable[[JobContext], JobResult]]:
        return dict.fromkeys(("ingest", "export", "build", "report", "retention"), self.adapter)

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]


def job(kind: str, cron: str, **kw: Any) -> JobConfig:
    return JobConfig(kind=kind, cron=cron, name=kw.pop("name", kind), **kw)


TENANT_JOBS = (
    job("export", "0 * * * *"),
    job("build", "30 * * * *"),
    job("report", "0 6 * * *"),
)


def config(data_dir: Path, jobs: tuple[JobConfig, ...] = TENANT_JOBS, **schedule: Any) -> Config:
    return Config(data_dir=data_dir, jobs=jobs, schedule=ScheduleConfig(**schedule))


def scheduler(
    cfg: Config, clock: FakeClock, recorder: Recorder | None = None, **kw: Any
) -> Scheduler:
    if recorder is not None:
        kw.setdefault("adapters", recorder.adapters())
    return Scheduler(cfg, Console.silent(), clock=clock, sleep=clock.sleep, **kw)


def serve_until(s: Scheduler, clock: FakeClock, end: datetime) -> None:
    """Run the scheduler loop on the fake clock until ``end``."""
    inner = s.sleep

    def sleep(seconds: float) -> None:
        inner(seconds)
        if clock() >= end:
            s.stop.request("test")

    s.sleep = sleep
    s.serve()


def records(data_dir: Path) -> list[Any]:
    return RunLog(data_dir).records()


# ------------------------------------------------------------------------------ real processes
def write_export(inbox: Path, campaign: str, when: str, n: int = 50) -> Path:
    """A small export file named like campaign-<id>_<UTC time>.csv."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"campaign-{campaign}_{when}.csv"
    states = ["WA_READ", "WA_DELIVERED", "WA_SENT", "INITIAL"]
    pl.DataFrame(
        {
            "contact_id": [str(i) for i in range(n)],
            "state": [states[i % 4] for i in range(n)],
        }
    ).write_csv(path)
    return path


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


INGEST_ONLY = """
[[jobs]]
kind = "ingest"
cron = "* * * * *"
"""


def start(
    args: list[str],
    data_dir: Path,
    config_path: Path | None = None,
    env: dict[str, str] | None = None,
    program: list[str] | None = None,
) -> subprocess.Popen[str]:
    base = program or CLI
    cfg = ["--config", str(config_path)] if config_path else []
    return subprocess.Popen(
        [*base, "--data-dir", str(data_dir), *cfg, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


class Watched:
    """A process whose stderr is read as it comes (to wait for a message it prints)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        import threading

        self.proc = proc
        self.err: list[str] = []
        assert proc.stderr is not None
        stream = proc.stderr
        self._reader = threading.Thread(target=lambda: self.err.extend(stream), daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for_text(self, text: str, what: str = "") -> None:
        """Until the process has printed ``text`` on stderr; fail if its stderr ends first."""
        wait_for(
            lambda: text in self.stderr() or not self._reader.is_alive(),
            what=what or repr(text),
        )
        assert text in self.stderr(), f"{what or repr(text)} never came:\n{self.stderr()}"

    def wait(self, timeout: float = GUARD) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code, self.stderr()

    def kill(self) -> None:
        """Kill it if it still runs (after a failed test), and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def wait_for(
    predicate: Callable[[], bool],
    timeout: float = GUARD,
    what: str = "",
    proc: subprocess.Popen[str] | None = None,
) -> None:
    wait_until(predicate, what or str(predicate), proc=proc, timeout=timeout)


def lock_text(data_dir: Path, name: str) -> str:
    try:
        return (data_dir / name).read_text()
    except FileNotFoundError:
        return ""


# -------------------------------------------------------------- a CLI with a slow fake job
SLOW = [sys.executable, str(Path(__file__).resolve()), "slow"]
#: The slow job writes this to the data directory when it starts ...
SLOW_STARTED = "slow-started"
#: ... and finishes once the test creates this file there ...
SLOW_RELEASE = "slow-release"
#: ... writing this one as its last step.
SLOW_FINISHED = "slow-finished"


def _slow_main() -> None:
    """The real CLI, with the build kind replaced by a job that runs until the test releases it
    (it writes ``SLOW_STARTED``, waits for ``SLOW_RELEASE``, then writes ``SLOW_FINISHED``).

    ``SCHEDULER_MAX_SLEEP`` (seconds) sets the longest nap of the scheduler's sleep (a minute in
    production): with an hour, a scheduler that did not wake up on a signal would be caught."""
    import pipeline.schedule.jobs as jobs
    import pipeline.schedule.runner as runner
    from pipeline.cli.main import main

    def slow(ctx: JobContext) -> JobResult:
        data = Path(ctx.config.data_dir)
        (data / SLOW_STARTED).write_text(ctx.due.key)
        while not (data / SLOW_RELEASE).exists():
            time.sleep(0.02)
        (data / SLOW_FINISHED).write_text(ctx.due.key)
        return JobResult(rows=1)

    jobs.ADAPTERS["build"] = slow
    if "SCHEDULER_MAX_SLEEP" in os.environ:
        kwdefaults = runner.Scheduler.serve.__kwdefaults__
        assert kwdefaults is not None
        kwdefaults["max_sleep"] = float(os.environ["SCHEDULER_MAX_SLEEP"])
    main(sys.argv[2:])


if __name__ == "__main__" and sys.argv[1:2] == ["slow"]:
    _slow_main()
