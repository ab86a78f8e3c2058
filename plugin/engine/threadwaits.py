"""How long the threads of this process waited for a CPU: on a busy machine the app's own
workers (a thread pool's, a thread it started, a process pool's) wait too, not only the loop's
thread, and a request that waits on one of them is late for that, not for anything the code did.

`ThreadWaits()` reads every thread's wait so far (Linux schedstat) and, until `end()`, notes the
wait of each thread that ends meanwhile: a thread started for one request is gone by the end of
the run. `end()` gives the longest any one thread waited meanwhile, leaving out those named.
Where there is no schedstat, every wait reads 0.
"""

from __future__ import annotations

import os
import sys
import threading

_original_bootstrap_inner = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]
_lock = threading.Lock()
_open: list["ThreadWaits"] = []
MOST_ENDED = 10_000


def cpu_wait_of(task: str) -> float | None:
    """Seconds the task `/proc/<task>` has waited for a CPU so far, or None if it cannot be read."""
    try:
        with open(f"/proc/{task}/schedstat", "rb") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def threads_cpu_waits() -> dict[int, float]:
    """Seconds each living thread of this process, and the main thread of each child process
    that `multiprocessing` started (a process pool's workers), has waited for a CPU so far, by
    native thread id or process id."""
    try:
        tasks = [f"self/task/{native_id}" for native_id in os.listdir("/proc/self/task")]
    except OSError:
        return {}
    multiprocessing = sys.modules.get("multiprocessing")  # not imported: no children of its
    if multiprocessing is not None:
        tasks += [str(child.pid) for child in multiprocessing.active_children()]
    waits = {int(task.rpartition("/")[2]): cpu_wait_of(task) for task in tasks}
    return {native_id: wait for native_id, wait in waits.items() if wait is not None}


def _noting_bootstrap_inner(thread: threading.Thread) -> None:
    try:
        _original_bootstrap_inner(thread)
    finally:  # the thread's last moment: read what it waited, while it still exists
        wait = cpu_wait_of("thread-self") if _open else None
        if wait is not None:
            for waits in list(_open):
                if len(waits.ended) < MOST_ENDED:  # one never ended (its run raised) must not grow for ever
                    waits.ended[threading.get_native_id()] = wait


class ThreadWaits:
    """The CPU waits of this process's threads from now until `end()`."""

    def __init__(self) -> None:
        self.ended: dict[int, float] = {}
        self._before = threads_cpu_waits()
        with _lock:
            if not _open:
                threading.Thread._bootstrap_inner = _noting_bootstrap_inner  # type: ignore[attr-defined]
            _open.append(self)

    def end(self, skip: set[int]) -> float:
        """The longest any one thread not in `skip` (native ids) waited for a CPU since this began."""
        with _lock:
            if self in _open:
                _open.remove(self)
                if not _open:
                    threading.Thread._bootstrap_inner = _original_bootstrap_inner  # type: ignore[attr-defined]
        after = {**self.ended, **threads_cpu_waits()}
        return max((wait - self._before.get(native_id, 0.0) for native_id, wait in after.items() if native_id not in skip), default=0.0)
