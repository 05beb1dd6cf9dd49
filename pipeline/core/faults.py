"""Named fault points for the crash-safety and locking tests.

``CAMPAIGN_REPORTS_CRASH_AT=<point>[:<n>]`` makes the process kill itself with SIGKILL the n-th
time (default: the first) it passes ``point``; ``CAMPAIGN_REPORTS_PAUSE_AT=<point>`` makes it
pause there (so that a test can act while a writer holds the lock). With
``CAMPAIGN_REPORTS_PAUSE_FILE=<path>`` the process writes its pid to ``path`` when it gets there
(the test waits for that file) and stays paused until the file is removed (the test releases
it); without it the pause is a minute. ``CAMPAIGN_REPORTS_FAIL_AT=<point>[:<n>]`` makes it raise
``OSError(EIO)`` there the n-th time instead (a failing write, for the error-path tests). Unset,
a point costs three dictionary lookups.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

_CRASH = "CAMPAIGN_REPORTS_CRASH_AT"
_PAUSE = "CAMPAIGN_REPORTS_PAUSE_AT"
_PAUSE_FILE = "CAMPAIGN_REPORTS_PAUSE_FILE"
_FAIL = "CAMPAIGN_REPORTS_FAIL_AT"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get(_PAUSE) == name:
        _pause()
    if _nth_time(os.environ.get(_CRASH), name, "crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    if _nth_time(os.environ.get(_FAIL), name, "fail"):
        raise OSError(errno.EIO, f"injected fault at {name}")


def _nth_time(spec: str | None, name: str, kind: str) -> bool:
    """Whether ``spec`` (``<point>[:<n>]``) names ``name`` and this is its n-th pass."""
    if not spec:
        return False
    target, _, nth = spec.partition(":")
    if target != name:
        return False
    key = f"{kind} {name}"
    _seen[key] = _seen.get(key, 0) + 1
    return _seen[key] == int(nth or 1)


def _pause() -> None:
    marker = os.environ.get(_PAUSE_FILE)
    if not marker:
        time.sleep(60)
        return
    path = Path(marker)
    path.write_text(str(os.getpid()), encoding="utf-8")
    while path.exists():
        time.sleep(0.02)
