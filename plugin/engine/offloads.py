"""Work handed to threads: where the user's code handed it over, and the CPU each piece took.

A thread that computes in Python, or in C that keeps the GIL (`json.dumps` of a big object, a
regex), holds the GIL, and the event loop waits for it: threads do not run Python in parallel.
While installed, every work item of a `ThreadPoolExecutor` (what `asyncio.to_thread` and
`loop.run_in_executor` use) notes the user's line that handed it over, and the thread CPU time
it took, so a stalled loop step can name the work that held it up.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import threading
import time
from concurrent.futures import thread as pool_threads
from dataclasses import dataclass
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles

MOST_KEPT = 10_000


@dataclass
class Offload:
    """One piece of work a thread pool ran: what, handed over where, when, and its CPU time."""

    name: str
    place: Place | None
    handed: float = 0.0  # when the pool was handed it (`perf_counter()`)
    pool_size: int | None = None  # the most threads its pool may start
    pool_full: bool = False  # handed over with every thread of its pool started and busy: it waited for one
    started: float | None = None
    ended: float | None = None
    cpu_s: float = 0.0
    # While it runs: its thread's CPU clock, and that clock's reading when it started.
    clock: int | None = None
    cpu0: float = 0.0

    @property
    def waited_s(self) -> float:
        """How long it waited for a thread of its pool (so far, if it has not started)."""
        return (time.perf_counter() if self.started is None else self.started) - self.handed

    def cpu_so_far(self) -> float:
        """Its CPU time, or, while it still runs, its CPU time up to now."""
        if self.ended is not None or self.clock is None:
            return self.cpu_s
        try:
            return max(time.clock_gettime(self.clock) - self.cpu0, 0.0)
        except OSError:  # its thread is gone
            return self.cpu_s


class OffloadWatch:
    """Note the work items thread pools run, while installed (several watches may share it)."""

    _lock = threading.Lock()
    _users = 0
    _watches: list["OffloadWatch"] = []
    _original_init = pool_threads._WorkItem.__init__
    _original_run = pool_threads._WorkItem.run

    def __init__(self, user_files: UserFiles) -> None:
        self.user_files = user_files
        self.offloads: list[Offload] = []

    def install(self) -> "OffloadWatch":
        with OffloadWatch._lock:
            OffloadWatch._watches.append(self)
            OffloadWatch._users += 1
            if OffloadWatch._users == 1:
                pool_threads._WorkItem.__init__ = _noting_init  # type: ignore[method-assign]
                pool_threads._WorkItem.run = _timed_run  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        with OffloadWatch._lock:
            if self in OffloadWatch._watches:
                OffloadWatch._watches.remove(self)
                OffloadWatch._users -= 1
            if OffloadWatch._users == 0:
                pool_threads._WorkItem.__init__ = OffloadWatch._original_init  # type: ignore[method-assign]
                pool_threads._WorkItem.run = OffloadWatch._original_run  # type: ignore[method-assign]

    def busiest_between(self, start: float, end: float) -> Offload | None:
        """The piece of work that computed most while overlapping [start, end] (one still running
        counts what it computed so far: the loop may get the GIL back before it ends)."""
        overlapping = [o for o in self.offloads if o.started is not None and o.started <= end and (o.ended is None or o.ended >= start)]
        return max(overlapping, key=lambda o: o.cpu_so_far(), default=None)


def _noting_init(item: Any, future: Any, fn: Any, args: Any, kwargs: Any) -> None:
    OffloadWatch._original_init(item, future, fn, args, kwargs)
    watches = list(OffloadWatch._watches)
    if not watches:
        return
    caller = sys._getframe(1)  # the pool's `submit`
    frame = watches[0].user_files.innermost(caller)
    pool = caller.f_locals.get("self")
    pool_size, idle = getattr(pool, "_max_workers", None), getattr(getattr(pool, "_idle_semaphore", None), "_value", 1)
    full = pool_size is not None and len(getattr(pool, "_threads", ())) >= pool_size and idle == 0
    offload = Offload(_name_of(fn), Place.of(frame) if frame else None, time.perf_counter(), pool_size, full)
    item._katas_offload = offload
    for watch in watches:
        if len(watch.offloads) < MOST_KEPT:
            watch.offloads.append(offload)


def _name_of(fn: Any) -> str:
    """`json.dumps`, looking through the partials `asyncio.to_thread` wraps the function in."""
    for _ in range(5):
        if not isinstance(fn, functools.partial):
            break
        inner = fn.func
        if isinstance(getattr(inner, "__self__", None), contextvars.Context) and fn.args:
            inner = fn.args[0]  # asyncio.to_thread: partial(context.run, func, ...)
        fn = inner
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return f"{getattr(fn, '__module__', None) or ''}.{name}".lstrip(".")


def _timed_run(item: Any) -> None:
    offload: Offload | None = getattr(item, "_katas_offload", None)
    if offload is None:
        return OffloadWatch._original_run(item)
    offload.cpu0 = cpu0 = time.thread_time()
    offload.clock = _clock_of_this_thread()
    offload.started = time.perf_counter()
    try:
        return OffloadWatch._original_run(item)
    finally:
        offload.cpu_s = time.thread_time() - cpu0
        offload.ended = time.perf_counter()


def _clock_of_this_thread() -> int | None:
    """This thread's CPU clock, for others to read while it runs; None where there is none."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):  # not a POSIX system
        return None
