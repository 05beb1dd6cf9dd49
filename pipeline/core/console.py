"""The one place that talks to the user: messages, warnings and progress.

Core code never prints; it takes a ``Console`` (or ``Console.silent()`` in tests and ``--quiet``).
Messages go to stderr so that stdout stays clean for data (``sql --format csv``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

log = logging.getLogger("campaign_reports")
# Messages are printed by the Console; logging is for --debug (which configures a handler). Without
# a handler of its own, Python's last-resort handler would print every warning a second time.
log.addHandler(logging.NullHandler())


class Console:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.warnings: list[str] = []

    @classmethod
    def silent(cls) -> Console:
        return cls(quiet=True)

    def info(self, message: str) -> None:
        log.info(message)
        if not self.quiet:
            print(message, file=self._stream, flush=True)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        log.warning(message)
        if not self.quiet:
            print(f"Warning: {message}", file=self._stream, flush=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Announce a step and report how long it took."""
        start = time.perf_counter()
        self.info(f"{label} ...")
        yield
        self.info(f"{label}: done in {time.perf_counter() - start:.1f} s")
