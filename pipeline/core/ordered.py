"""Work done a few items ahead in threads, the results taken in order (ingest's files)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def workers() -> int:
    """Threads for work that waits as much as it computes (files read and written, polars and
    DuckDB calls, which release the interpreter): two per core the process may use (a thread often waits), at most 4; one on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if (cores or 1) < 2 else min(4, 2 * (cores or 1))


def in_order(work: Callable[[int], T], count: int, *, name: str = "worker") -> Iterator[T]:
    """``work(0)``, ..., ``work(count - 1)``, in order, computed a few ahead in worker threads
    (at most twice the threads at once, so that memory stays bounded however many)."""
    threads = workers()
    if count < 2 or threads < 2:
        yield from (work(i) for i in range(count))
        return
    with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
        ahead: deque[Future[T]] = deque()
        try:
            for i in range(count):
                ahead.append(pool.submit(work, i))
                if len(ahead) >= 2 * threads:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:  # an error or a stop: what has not started does not
            for future in ahead:
                future.cancel()
