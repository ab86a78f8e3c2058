"""Find event-loop steps that block, and blame the line in the user's files that blocked.

Every callback the loop runs goes through `asyncio.events.Handle._run`. While a watch is
active on a thread, that method is timed there: wall time with `perf_counter`, CPU time with
`thread_time`, and, where Linux reports it, the time the thread sat ready but waiting for a
CPU (`/proc/thread-self/schedstat`), all read on the loop thread itself, so they are exact.

A sampler thread copies the loop thread's stack (see `engine.blame`) once a step has
run longer than `sample_after_ms`. Each sample stands for the time since the one before it.
Only when a step turns out long enough to matter are its samples resolved to the innermost
line in the user's files: that takes file system calls, which let go of the GIL, and the
loop thread must not run on (and end the step) in the middle of a sample. The copy matters
most for calls that hold the GIL (a regex, `json.dumps`, `sum(range(...))`): the sampler
cannot run until such a call returns, and then its one late sample, taken on the very line
of the call, carries the whole wait.

A step counts as a `Block` when it ran at least `block_ms` not counting the time the thread
waited for a CPU, waited for the sampler to hand back the GIL, or collected garbage (none of
which is the code's doing), and one user line accounts for at least half of `block_ms` of it,
net of the same waits. So a slow machine, a CPU hog next door or a garbage collection never
turns a free-running app into a blocking one, and a step slow in library code is never pinned
on a user line that happened to be on the stack for a moment.

Wall time far above CPU time means the step was waiting (I/O, a sleep, a lock); the two about
equal means it was computing.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.blame import Stack, blamed_place, copy_stack_of
from fastapi_async_katas.engine.clocks import ReadyClock
from fastapi_async_katas.engine.records import Block
from fastapi_async_katas.engine.userfiles import Place, UserFiles

# The blamed line must itself account for this share of `block_ms`, so a step that is slow in
# library code never lands on a user line that merely happened to be running for a moment.
BLAME_SHARE = 0.5
# In a long step, sample every tenth of its age so far, at most every 50 ms.
SLOWDOWN = 0.1
MAX_INTERVAL_S = 0.05

_original_run = asyncio.events.Handle._run
# Never interrupted by the hang signal: the plugin's own code, and asyncio's.
_KEEP_OUT = tuple(os.path.dirname(module.__file__ or "") + os.sep for module in (asyncio, sys.modules[__name__.rsplit(".", 2)[0]]))


def _not_to_interrupt(filename: str) -> bool:
    return os.path.realpath(filename).startswith(_KEEP_OUT) or filename.startswith(_KEEP_OUT)
_active: dict[int, "LoopWatch"] = {}


def _timed_run(handle: asyncio.events.Handle) -> None:
    watch = _active.get(threading.get_ident())
    if watch is None or watch._step is not None:
        return _original_run(handle)
    watch._begin_step()
    try:
        return _original_run(handle)
    finally:
        watch._end_step()


# Blame looks only below this frame: the code that runs the loop is never the user's block.
_STEP_CODE = _timed_run.__code__


class LoopHung(BaseException):
    """Raised inside the loop thread when a step has run past the hang limit or the deadline."""


@dataclass(eq=False)
class _Step:
    """The loop step in progress; the sampler adds to `weights` while the loop thread runs it."""

    started: float
    cpu0: float
    ready0: float
    gc_s: float = 0.0
    gc_began: float | None = None
    last: float = 0.0
    ready_last: float = 0.0
    gc_last: float = 0.0
    held_s: float = 0.0
    held_last: float = 0.0
    hang_signalled: bool = False
    samples: int = 0
    weights: dict[Stack, float] = field(default_factory=dict)


@dataclass
class LoopWatch:
    """Watch the event loop of the thread that calls `start()`.

    Use it as a context manager on the loop's thread. `blocks` lists the blocked steps that
    reached a user file.
    """

    user_files: UserFiles = field(default_factory=UserFiles)
    block_ms: float = 50.0
    sample_after_ms: float = 20.0
    interval_ms: float = 4.0
    hang_s: float | None = None

    blocks: list[Block] = field(default_factory=list, init=False)
    hung: Block | None = field(default=None, init=False)
    # A step still running at this `perf_counter()` time is hung, however young it is: once a
    # burst of requests is past its deadline, a stuck loop must not wait `hang_s` per request.
    deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tid = 0
        self._step: _Step | None = None
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._old_handler: Any = None
        self._ready = ReadyClock(open_now=False)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "LoopWatch":
        self._tid = threading.get_ident()
        if self._tid in _active:
            raise RuntimeError("a LoopWatch is already active on this thread")
        self._ready = ReadyClock()
        _active[self._tid] = self
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        if self.hang_s is not None and threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGUSR1, self._raise_hung)
        self._sampler = threading.Thread(target=self._sample_loop, name="loopwatch", daemon=True)
        self._sampler.start()
        return self

    def stop(self) -> None:
        """Stop watching; safe to call more than once, and after a `start()` that failed."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        _active.pop(self._tid, None)
        if not _active:
            asyncio.events.Handle._run = _original_run  # type: ignore[method-assign]
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._old_handler is not None:
            signal.signal(signal.SIGUSR1, self._old_handler)
            self._old_handler = None
        self._ready.close()

    def __enter__(self) -> "LoopWatch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries -----------------------------------------------------------------------
    def cpu_wait_s(self) -> float:
        """Seconds the watched thread has spent ready to run but waiting for a CPU, so far."""
        return self._ready.read()

    def blocks_between(self, start: float, end: float) -> list[Block]:
        return [b for b in self.blocks if start <= b.started <= end]

    # -- loop thread -------------------------------------------------------------------
    def _begin_step(self) -> None:
        ready = self._ready.read()
        now = time.perf_counter()
        self._step = _Step(now, time.thread_time(), ready, last=now, ready_last=ready)

    def _end_step(self) -> None:
        end = time.perf_counter()
        cpu_s = time.thread_time()
        step, self._step = self._step, None
        if step is None:
            return
        cpu_ms = (cpu_s - step.cpu0) * 1000
        wall_ms = (end - step.started) * 1000
        if wall_ms < self.block_ms or not step.weights:
            return
        waiting_ms = (max(self._ready.read() - step.ready0, 0.0) + step.held_s) * 1000
        if wall_ms - waiting_ms - step.gc_s * 1000 < self.block_ms:
            return
        # A copy: a late sample may still add to the step's weights while its stacks are resolved.
        place, weight_s = self._heaviest(dict(step.weights))
        if place is None or weight_s * 1000 < BLAME_SHARE * self.block_ms:
            return
        self.blocks.append(Block(place, wall_ms, cpu_ms, step.started, step.samples, min(waiting_ms, wall_ms)))

    def _heaviest(self, weights: dict[Stack, float]) -> tuple[Place | None, float]:
        """The user line the samples weigh most on, and their weight in seconds."""
        totals: dict[Place, float] = {}
        for stack, weight in weights.items():
            place = blamed_place(stack, self.user_files, _STEP_CODE)
            if place is not None:
                totals[place] = totals.get(place, 0.0) + weight
        return max(totals.items(), key=lambda kv: kv[1], default=(None, 0.0))

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        step = self._step
        if step is None or threading.get_ident() != self._tid:
            return
        if phase == "start":
            step.gc_began = time.perf_counter()
        elif step.gc_began is not None:
            step.gc_s += time.perf_counter() - step.gc_began
            step.gc_began = None

    def _raise_hung(self, signum: int, frame: Any) -> None:
        step = self._step
        if step is None or not step.hang_signalled:  # a step that ended meanwhile
            return
        if frame is not None and _not_to_interrupt(frame.f_code.co_filename):
            # Raised here, it would break the plugin's or asyncio's own state: the sampler
            # signals again at its next sample, when the loop may be in the app's code.
            step.hang_signalled = False
            return
        raise LoopHung(self.hung)

    # -- sampler thread ----------------------------------------------------------------
    def _sample_loop(self) -> None:
        sample_after = self.sample_after_ms / 1000
        interval = wait = self.interval_ms / 1000
        while not self._stop.wait(wait):
            wait = interval
            step = self._step
            if step is None:
                continue
            now = time.perf_counter()
            running = now - step.started
            if running < sample_after:
                continue
            ready = self._ready.read()
            # Each sample takes the GIL from the loop thread, and gives it back only when this
            # thread gets a CPU again: in a long step, fewer samples will do.
            wait = min(max(interval, running * SLOWDOWN), MAX_INTERVAL_S)
            stack = copy_stack_of(self._tid)
            if self._step is not step:
                continue
            self._weigh(step, stack, now, ready, sample_after)
            # While this thread holds the GIL the loop thread cannot run; on a busy machine
            # this thread may lose its CPU meanwhile. That wait is the sampler's, not the code's.
            step.held_s += time.perf_counter() - now
            if self._is_hung(step, now) and not step.hang_signalled:
                step.hang_signalled = True
                self.hung = Block(blamed_place(stack, self.user_files, _STEP_CODE), running * 1000, 0.0, step.started)
                if self._old_handler is not None:
                    signal.pthread_kill(self._tid, signal.SIGUSR1)

    def _is_hung(self, step: _Step, now: float) -> bool:
        """Whether this step has run past the hang limit, or past the deadline of the requests."""
        if self.hang_s is not None and now - step.started >= self.hang_s:
            return True
        return self.deadline is not None and now >= self.deadline

    def _weigh(self, step: _Step, stack: Stack, now: float, ready: float, sample_after: float) -> None:
        """Credit `stack` with the time since the last sample that the thread could have run.

        The first `sample_after` of a step is nobody's: short library steps are common, and
        crediting their start to the first line sampled would blame lines for others' time.
        """
        since = now - max(step.last, step.started + sample_after)
        lost = (ready - step.ready_last) + (step.gc_s - step.gc_last) + (step.held_s - step.held_last)
        step.last, step.ready_last, step.gc_last, step.held_last = now, ready, step.gc_s, step.held_s
        step.samples += 1
        step.weights[stack] = step.weights.get(stack, 0.0) + max(since - lost, 0.0)
