"""Processes the app starts (a process pool, `multiprocessing`), and where in its code.

What a worker process does happens out of this process's sight: the kata world's database and
storage count only what this process asks of them. A check that finds work missing says so,
rather than that the work was never done.
"""

from __future__ import annotations

import multiprocessing.process
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi_async_katas.engine.userfiles import Place, UserFiles


@dataclass(frozen=True)
class ProcessStart:
    at: float  # `perf_counter()` time
    place: Place | None  # the app's line that started it (a pool starts its workers on demand)


@contextmanager
def processes_started(user_files: UserFiles) -> Iterator[list[ProcessStart]]:
    """Meanwhile, note each process started through `multiprocessing` (its pools and
    `concurrent.futures.ProcessPoolExecutor` too), in the list this yields."""
    started: list[ProcessStart] = []
    previous = multiprocessing.process.BaseProcess.start

    def start(process: multiprocessing.process.BaseProcess) -> None:
        frame = user_files.innermost(sys._getframe(1))
        started.append(ProcessStart(time.perf_counter(), Place.of(frame) if frame is not None else None))
        previous(process)

    multiprocessing.process.BaseProcess.start = start  # type: ignore[method-assign]
    try:
        yield started
    finally:
        multiprocessing.process.BaseProcess.start = previous  # type: ignore[method-assign]
