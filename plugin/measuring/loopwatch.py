"""Find event-loop steps that block, and blame the line in the user's files that blocked.

Every callback the loop runs goes through `asyncio.events.Handle._run`. While a watch is
active on a thread, that method is timed there: wall time with `perf_counter`, CPU time with
`thread_time`, both read on the loop thread itself, so they are exact. A sampler thread looks
at the loop thread's stack (`sys._current_frames()`) whenever a step has run longer than
`sample_after_ms`, and remembers the innermost frame in the user's files. A step longer than
`block_ms` becomes a `Block`, blamed on the line seen most often.

Wall time far above CPU time means the step was waiting (I/O, a sleep, a lock); the two about
equal means it was computing.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from plugin.measuring.userfiles import Place, UserFiles

CPU_SHARE_FOR_CPU_KIND = 0.5

_original_run = asyncio.events.Handle._run
_active: dict[int, "LoopWatch"] = {}


def _timed_run(handle: asyncio.events.Handle) -> None:
    watch = _active.get(threading.get_ident())
    if watch is None or watch._depth:
        return _original_run(handle)
    watch._begin_step()
    try:
        return _original_run(handle)
    finally:
        watch._end_step()


class LoopHung(BaseException):
    """Raised inside the loop thread when one step has run longer than the hang limit."""


@dataclass
class Block:
    """One loop step that ran longer than the threshold."""

    place: Place | None
    wall_ms: float
    cpu_ms: float
    started: float
    samples: int = 0

    @property
    def kind(self) -> str:
        return "cpu" if self.cpu_ms >= CPU_SHARE_FOR_CPU_KIND * self.wall_ms else "io"

    def as_dict(self) -> dict[str, Any]:
        place = self.place
        return {
            "file": place.file if place else None,
            "line": place.line if place else None,
            "function": place.function if place else None,
            "code": place.code if place else None,
            "wall_ms": round(self.wall_ms, 1),
            "cpu_ms": round(self.cpu_ms, 1),
            "kind": self.kind,
        }


@dataclass
class LoopWatch:
    """Watch the event loop of the thread that calls `start()`.

    Use it as a context manager on the loop's thread. `blocks` lists the blocked steps that
    reached a user file; `max_step_cpu_ms` is the most CPU time any one step took.
    """

    user_files: UserFiles = field(default_factory=UserFiles)
    block_ms: float = 50.0
    sample_after_ms: float = 20.0
    interval_ms: float = 4.0
    hang_s: float | None = None

    blocks: list[Block] = field(default_factory=list, init=False)
    hung: Block | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tid = 0
        self._depth = 0
        self._step_no = 0
        self._step: tuple[int, float] | None = None
        self._cpu0 = 0.0
        self._samples: dict[int, Counter[Place]] = {}
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._old_handler: Any = None
        self._hang_signalled = False
        self._max_cpu_ms = 0.0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "LoopWatch":
        self._tid = threading.get_ident()
        if self._tid in _active:
            raise RuntimeError("a LoopWatch is already active on this thread")
        _active[self._tid] = self
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
        if self.hang_s is not None and threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGUSR1, self._raise_hung)
        self._sampler = threading.Thread(target=self._sample_loop, name="loopwatch", daemon=True)
        self._sampler.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        _active.pop(self._tid, None)
        if not _active:
            asyncio.events.Handle._run = _original_run  # type: ignore[method-assign]
        if self._old_handler is not None:
            signal.signal(signal.SIGUSR1, self._old_handler)
            self._old_handler = None

    def __enter__(self) -> "LoopWatch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries -----------------------------------------------------------------------
    def blocks_between(self, start: float, end: float) -> list[Block]:
        return [b for b in self.blocks if start <= b.started <= end]

    @property
    def max_step_cpu_ms(self) -> float:
        return self._max_cpu_ms

    # -- loop thread -------------------------------------------------------------------
    def _begin_step(self) -> None:
        self._depth += 1
        self._step_no += 1
        self._cpu0 = time.thread_time()
        self._step = (self._step_no, time.perf_counter())

    def _end_step(self) -> None:
        end = time.perf_counter()
        cpu_ms = (time.thread_time() - self._cpu0) * 1000
        step, self._step = self._step, None
        self._depth -= 1
        if step is None:
            return
        number, started = step
        self._max_cpu_ms = max(self._max_cpu_ms, cpu_ms)
        samples = self._samples.pop(number, None)
        wall_ms = (end - started) * 1000
        if wall_ms < self.block_ms or not samples:
            return
        place, _ = samples.most_common(1)[0]
        self.blocks.append(Block(place, wall_ms, cpu_ms, started, sum(samples.values())))

    def _raise_hung(self, signum: int, frame: object) -> None:
        raise LoopHung(self.hung)

    # -- sampler thread ----------------------------------------------------------------
    def _sample_loop(self) -> None:
        sample_after = self.sample_after_ms / 1000
        interval = self.interval_ms / 1000
        while not self._stop.wait(interval):
            step = self._step
            if step is None:
                continue
            number, started = step
            running = time.perf_counter() - started
            if running < sample_after:
                continue
            frame = sys._current_frames().get(self._tid)
            user = self.user_files.innermost(frame)
            del frame
            if user is None or self._step is not step:
                continue
            place = Place.of(user)
            self._samples.setdefault(number, Counter())[place] += 1
            if self.hang_s is not None and running >= self.hang_s and not self._hang_signalled:
                self._hang_signalled = True
                self.hung = Block(place, running * 1000, 0.0, started)
                if self._old_handler is not None:
                    signal.pthread_kill(self._tid, signal.SIGUSR1)
