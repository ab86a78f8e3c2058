"""Slow storage: a folder of real files that take a network round trip to read.

Each file is a named pipe (FIFO). A world thread waits at its write end; when a reader opens
the file, that thread first puts a fresh pipe in its place for the next reader, then waits
`latency_s` and writes the content. The reader's `read()` blocks in the kernel for the whole
round trip, in whichever thread made the call, exactly as a read from a slow network share
would: `open` is not patched, and `anyio.Path`, `to_thread` and plain `open()` all see the
same file. The storage counts the reads in flight, their peak, and every read it served.

Pipes have limits worth knowing: two readers that open one file at the very same moment may
share one stream, so give concurrent requests different files; and a pipe reports a size of 0
and is not a regular file (`exists()` is true, `is_file()` is false).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from fastapi_async_katas.engine.userfiles import UserFiles, display_path
from fastapi_async_katas.world.storage_checks import FileRead, StorageChecks
from fastapi_async_katas.world.waiting import AppWatch

ENV_VAR = "SHOP_STORAGE"
DEFAULT_LATENCY_S = 0.3
_JOIN_S = 2.0


class _SlowFile:
    """One file on the storage, served through a pipe that is replaced for every reader."""

    def __init__(self, storage: "SlowStorage", name: str, content: bytes) -> None:
        self.storage = storage
        self.name = name
        self.path = storage.root / name
        self.content = content
        self.waiter: threading.Thread | None = None

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._replace_pipe()
        self._start_waiter()

    def _replace_pipe(self) -> None:
        fresh = self.storage._pipes / f"{next(self.storage._serial)}.fifo"
        os.mkfifo(fresh, 0o644)
        os.replace(fresh, self.path)

    def _start_waiter(self) -> None:
        self.waiter = threading.Thread(target=self._wait_for_reader, name=f"storage:{self.name}", daemon=True)
        self.waiter.start()
        self.storage._threads.append(self.waiter)

    def _wait_for_reader(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY)  # blocks until someone opens the file to read it
        except OSError:
            return
        opened = time.perf_counter()
        if self.storage._closing.is_set():
            os.close(fd)
            return
        try:
            # The next reader must get a stream of its own, not this one.
            self._replace_pipe()
            self._start_waiter()
        finally:
            self.storage._serve(self, fd, opened)


class SlowStorage(StorageChecks):
    """A folder on slow storage: reading any file put there waits `latency_s` in the OS.

    `put(name, content)` adds or replaces a file. `in_flight`, `peak_in_flight`, `total_reads`
    and `reads` count what readers did. Use it as a context manager, or call `close()`.
    """

    def __init__(self, root: Path, *, latency_s: float = DEFAULT_LATENCY_S) -> None:
        if not hasattr(os, "mkfifo"):
            raise RuntimeError(
                "slow storage is made of named pipes, which this system does not have: "
                "run this kata on Linux, macOS or WSL"
            )
        self.root = Path(root)
        self.latency_s = latency_s
        self.root.mkdir(parents=True, exist_ok=True)
        self._pipes = self.root.parent / f".{self.root.name}-pipes"
        self._pipes.mkdir(exist_ok=True)
        self._serial = itertools.count(1)
        self._files: dict[str, _SlowFile] = {}
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.reads: list[FileRead] = []
        self._app: AppWatch | None = None

    # -- for tests: set up files, read back, counters -----------------------------------
    def put(self, name: str, content: str | bytes) -> Path:
        """Add (or replace) the file `name`, a path relative to the storage folder."""
        data = content.encode() if isinstance(content, str) else bytes(content)
        existing = self._files.get(name)
        if existing is not None:
            existing.content = data
            return existing.path
        slow = _SlowFile(self, name, data)
        self._files[name] = slow
        slow.start()
        return slow.path

    def content(self, name: str) -> bytes:
        """What the file `name` holds, without a round trip and without counting a read."""
        return self._files[name].content

    @property
    def total_reads(self) -> int:
        return len(self.reads)

    def reads_between(self, start: float, end: float) -> list[FileRead]:
        """The reads that were in flight at some moment between `start` and `end`."""
        with self._lock:
            return [r for r in self.reads if r.started <= end and r.finished >= start]

    def peak_between(self, start: float, end: float) -> int:
        """The most reads in flight at one moment between `start` and `end`."""
        events = []
        for read in self.reads_between(start, end):
            events += [(max(read.started, start), 1), (min(read.finished, end), -1)]
        current = peak = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak

    def reset_counters(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight
            self.reads = []

    # -- the world's side ---------------------------------------------------------------
    def _serve(self, slow: _SlowFile, fd: int, opened: float) -> None:
        read = FileRead(slow.name, opened)
        if self._app is not None:
            self._app.note_soon(read)
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if not self._closing.wait(self.latency_s):
                view = memoryview(slow.content)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:
            pass  # the reader went away (closed its end) before the content arrived
        finally:
            # Counted before the end of the file reaches the reader, so that a reader who has
            # its whole file always finds its read in `reads`.
            with self._lock:
                self.in_flight -= 1
                read.finished = time.perf_counter()
                self.reads.append(read)
            os.close(fd)

    def watch_app(self, loop: asyncio.AbstractEventLoop, user_files: UserFiles, skip_files: Iterable[str] = ()) -> None:
        """Note, for each read, the lines of the app (on `loop`) that were waiting meanwhile."""
        self._app = AppWatch(loop, user_files, frozenset(os.path.abspath(f) for f in skip_files))

    def close(self) -> None:
        """Stop serving: release every thread that waits for a reader, and wait for them."""
        self._closing.set()
        for _ in range(3):  # a waiter that met a reader just now may have started a new one
            waiting = [f for f in self._files.values() if f.waiter is not None and f.waiter.is_alive()]
            if not waiting:
                break
            for slow in waiting:
                self._release(slow)
        for thread in self._threads:
            thread.join(_JOIN_S)

    @staticmethod
    def _release(slow: _SlowFile) -> None:
        try:
            fd = os.open(slow.path, os.O_RDONLY | os.O_NONBLOCK)  # lets the waiter's open return
        except OSError:
            return
        try:
            if slow.waiter is not None:
                slow.waiter.join(_JOIN_S)
        finally:
            os.close(fd)

    def __enter__(self) -> "SlowStorage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SlowStorage({display_path(str(self.root))!r}, latency_s={self.latency_s}, files={len(self._files)})"
