"""How long a thread sat ready to run but waiting for a CPU: time a busy machine took, not the code."""

from __future__ import annotations

import gc
import os
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any


def gil_keeping_reader(size: int = 128) -> Callable[[int], bytes]:
    """A function that reads up to `size` bytes from the start of an open file, holding the GIL.

    It calls `pread` through `ctypes.PyDLL`, which keeps the GIL (`os.pread` would let go of it):
    a read of `/proc` then shows one moment, no other thread of the process runs meanwhile, and
    the reader does not wait to get the GIL back. Raises `AttributeError` or `ImportError` where
    there is no `pread`. Each reader has a buffer of its own: use it on one thread at a time.
    """
    import ctypes

    pread = ctypes.PyDLL(None).pread
    pread.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long)
    pread.restype = ctypes.c_ssize_t
    buffer = ctypes.create_string_buffer(size)

    def read(fd: int) -> bytes:
        got = pread(fd, buffer, size, 0)
        return buffer.raw[:got] if got > 0 else b""

    return read


class ReadyClock:
    """Seconds one thread has spent ready to run but waiting for a CPU (Linux schedstat).

    It reads `/proc/thread-self/schedstat` of the thread that created it, from any thread.
    The read keeps the GIL (see `gil_keeping_reader`): on a loop step's path, getting the GIL back
    can take milliseconds when other threads are computing. Where there is no schedstat, it reads
    0 and waits are not told apart.
    """

    def __init__(self, *, open_now: bool = True) -> None:
        self._fd: int | None = None
        if not open_now:
            return
        try:
            self._read = gil_keeping_reader()
            self._fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
            float(self._read(self._fd).split()[1])
        except (OSError, AttributeError, ImportError, ValueError, IndexError):
            self.close()

    def read(self) -> float:
        return self.read_runs()[0]

    def read_runs(self) -> tuple[float, int]:
        """The wait, as `read()`, and how many times the thread has been given a CPU: once each
        time it woke from a sleep, or got its CPU back (0 where there is no schedstat)."""
        if self._fd is None:
            return 0.0, 0
        try:
            fields = self._read(self._fd).split()
            return int(fields[1]) / 1e9, int(fields[2])
        except (ValueError, IndexError):
            return 0.0, 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class WaitMarks:
    """A thread's CPU wait (a `ReadyClock` reading) noted now and then, at least `every_s`
    apart: how long it waited within any stretch of the last `keep` notes, such as the life of
    one request, not only across a whole run whose quiet end would water a busy start down."""

    def __init__(self, every_s: float = 0.005, keep: int = 50_000) -> None:
        self.every_s, self._keep = every_s, keep
        self._times: list[float] = []
        self._waits: list[float] = []
        self.next_at = 0.0  # no note is taken before this `perf_counter()` time

    def note(self, now: float, wait: float) -> None:
        self._times.append(now)
        self._waits.append(wait)
        self.next_at = now + self.every_s
        if len(self._times) > 2 * self._keep:
            del self._times[: self._keep], self._waits[: self._keep]

    def between(self, start: float, end: float) -> float:
        """Seconds waited from the last note at or before `start` to the first one at or after
        `end` (the nearest there is): a wait just outside the stretch may count, none inside is
        missed but what came after the last note."""
        if not self._times:
            return 0.0
        first = max(bisect_right(self._times, start) - 1, 0)
        last = min(bisect_left(self._times, end), len(self._times) - 1)
        return max(self._waits[last] - self._waits[first], 0.0)


class BusyClock:
    """Seconds a run with two loops lost to a busy machine: the CPU waits of the server's loop
    (`server_wait`, a `LoopWatch.cpu_wait_s`), those of the thread that reads this clock (the
    client's loop: what it sees is delayed by its own waits too), and every garbage collection
    of the process meanwhile, which stops both loops alike. Read on the thread that made it."""

    def __init__(self, server_wait: Callable[[], float]) -> None:
        self._server_wait = server_wait
        self._client = ReadyClock()
        self._gc_s, self._gc_began, self._lost = 0.0, 0.0, 0.0
        self._began = server_wait() + self._client.read()
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
        elif self._gc_began:
            self._gc_s += time.perf_counter() - self._gc_began
            self._gc_began = 0.0

    def stop(self) -> float:
        """The seconds lost since this clock was made; the clock is done with (once is enough)."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
            self._lost = max(self._server_wait() + self._client.read() - self._began + self._gc_s, 0.0)
            self._client.close()
        return self._lost
