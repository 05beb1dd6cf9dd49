"""Waiting for another process: for the event, never for a time.

``GUARD`` bounds every wait only so that a broken test fails instead of hanging; ``Pause`` holds
a child at a fault point (``pipeline.core.faults``) until the test lets it go.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

#: How long a test waits for another process to reach a state or to finish. Only a guard against
#: hanging forever (a busy machine may be slow, never this slow); nothing is measured against it.
GUARD = 300.0


def wait_until(
    predicate: Callable[[], bool],
    what: str,
    *,
    proc: subprocess.Popen | None = None,
    timeout: float = GUARD,
) -> None:
    """Poll until ``predicate()``; fail at once if ``proc`` exits first (it never will get
    there), or after ``timeout`` seconds (a guard, not a margin)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            if predicate():
                return
            raise AssertionError(f"the process exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


class Pause:
    """Hold a child process at a fault point until the test releases it.

    ``env`` makes the child stop at ``point`` (``CAMPAIGN_REPORTS_PAUSE_AT``) and write
    ``marker`` when it gets there; it stays there until ``release()`` removes the marker (or the
    child is signalled or killed). ``wait(proc)`` returns once the child is paused."""

    def __init__(self, point: str, marker: Path) -> None:
        self.point = point
        self.marker = marker

    @property
    def env(self) -> dict[str, str]:
        return {
            "CAMPAIGN_REPORTS_PAUSE_AT": self.point,
            "CAMPAIGN_REPORTS_PAUSE_FILE": str(self.marker),
        }

    def wait(self, proc: subprocess.Popen) -> None:
        wait_until(self.marker.exists, f"the pause at {self.point}", proc=proc)

    def release(self) -> None:
        self.marker.unlink(missing_ok=True)
