"""Named fault points for the crash-safety and locking tests.

``CAMPAIGN_REPORTS_CRASH_AT=<point>[:<n>]`` makes the process kill itself with SIGKILL the n-th
time (default: the first) it passes ``point``; ``CAMPAIGN_REPORTS_PAUSE_AT=<point>`` makes it
pause there (so that a test can act while a writer holds the lock). With
``CAMPAIGN_REPORTS_PAUSE_FILE=<path>`` the process writes its pid to ``path`` when it gets there
(the test waits for that file) and stays paused until the file is removed (the test releases
it); without it the pause is a minute. Unset, a point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_CRASH = "CAMPAIGN_REPORTS_CRASH_AT"
_PAUSE = "CAMPAIGN_REPORTS_PAUSE_AT"
_PAUSE_FILE = "CAMPAIGN_REPORTS_PAUSE_FILE"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get(_PAUSE) == name:
        _pause()
    spec = os.environ.get(_CRASH)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def _pause() -> None:
    marker = os.environ.get(_PAUSE_FILE)
    if not marker:
        time.sleep(60)
        return
    path = Path(marker)
    path.write_text(str(os.getpid()), encoding="utf-8")
    while path.exists():
        time.sleep(0.02)
