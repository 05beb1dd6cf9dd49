"""Named crash points for the crash-safety tests.

``CAMPAIGN_REPORTS_CRASH_AT=<point>[:<n>]`` makes the process kill itself with SIGKILL the n-th
time (default first) it passes ``point``. Unset, ``point`` costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_ENV = "CAMPAIGN_REPORTS_CRASH_AT"
_seen: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
