"""Named fault points for the crash-safety and locking tests.

``CAMPAIGN_REPORTS_CRASH_AT=<point>[:<n>]`` makes the process kill itself with SIGKILL the n-th
time (default: the first) it passes ``point``; ``CAMPAIGN_REPORTS_PAUSE_AT=<point>`` makes it
sleep there for a minute (so that a test can act while a writer holds the lock). Unset, a point
costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time

_CRASH = "CAMPAIGN_REPORTS_CRASH_AT"
_PAUSE = "CAMPAIGN_REPORTS_PAUSE_AT"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get(_PAUSE) == name:
        time.sleep(60)
    spec = os.environ.get(_CRASH)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
