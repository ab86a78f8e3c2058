"""Threads an app leaves running after it shut down, and how to say so.

A connection the app opened and never closed (an `aiosqlite` connection made on first use, say)
keeps a worker thread alive; Python waits for such threads before it exits, so a learner would
see "solved" and then a terminal that never comes back. Pool workers are not counted: Python
shuts executors down by itself at exit.
"""

from __future__ import annotations

import asyncio
import threading
import time

GRACE_S = 0.5
LEFT_RUNNING = (
    "Your app left {count} running after it shut down ({names}): something it opened (a connection, a client, "
    "a worker) was never closed. What the app opens, its lifespan should close when it ends."
)
# Joined by Python itself at exit, or daemons: never what keeps a process open.
_POOL_PREFIXES = ("ThreadPoolExecutor-", "asyncio_", "AnyIO worker")


def lingering(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since `before` that are alive, not daemons, and not pool workers."""
    return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon and not _a_pool_worker(t)]


def _a_pool_worker(thread: threading.Thread) -> bool:
    """A worker of a `concurrent.futures` pool, whatever it is named: Python joins those at exit."""
    target = getattr(thread, "_target", None)
    return getattr(target, "__module__", "") == "concurrent.futures.thread" or thread.name.startswith(_POOL_PREFIXES)


async def left_running(before: set[threading.Thread]) -> list[threading.Thread]:
    """The app's threads still running `GRACE_S` after it shut down (waiting on the test's loop)."""
    deadline = time.perf_counter() + GRACE_S
    while (left := lingering(before)) and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
    return left


def left_running_text(threads: list[threading.Thread]) -> str:
    return LEFT_RUNNING.format(count=threads_text(len(threads)), names=names_text(threads))


def threads_text(n: int) -> str:
    return "1 thread" if n == 1 else f"{n} threads"


def names_text(threads: list[threading.Thread]) -> str:
    names = sorted({name_of(t) for t in threads})
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# The kinds of thread whose default names ("Thread-1") say nothing of what started them.
_KINDS = {"concurrent.futures.process": "a ProcessPoolExecutor's", "aiosqlite.core": "an aiosqlite connection's"}


def name_of(thread: threading.Thread) -> str:
    """A thread's name, and, for a library's own kind of thread, whose it is."""
    kind = type(thread)
    if kind is threading.Thread:
        return thread.name
    return f"{thread.name}, {_KINDS.get(kind.__module__, f'a {kind.__module__}.{kind.__qualname__}')}"
