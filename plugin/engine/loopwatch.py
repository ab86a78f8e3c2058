"""Find event-loop steps that block, and blame the line in the user's files that blocked.

Every callback the loop runs goes through `asyncio.events.Handle._run`. While a watch is active on a
thread, that method is timed there: wall time with `perf_counter`, CPU time with `thread_time`, and,
where Linux reports it, the time the thread sat ready but waiting for a CPU
(`/proc/thread-self/schedstat`), all read on the loop thread itself, so they are exact.

A sampler thread copies the loop thread's stack (see `engine.blame`) once a step has run longer than
`sample_after_ms`. Each sample stands for the time since the one before it. Only when a step turns
out long enough to matter are its samples resolved to the innermost line in the user's files: that
takes file system calls, which let go of the GIL, and the loop thread must not run on (and end the
step) in the middle of a sample. The copy matters most for calls that hold the GIL (a regex,
`json.dumps`, `sum(range(...))`): the sampler cannot run until such a call returns, and then its one
late sample, taken on the very line of the call, carries the whole wait.

A step counts as a `Block` when it ran at least `block_ms` not counting the time the thread waited
for a CPU, for the sampler to hand back the GIL (unless it computed meanwhile), for other threads
to let go of it (see `engine.gilwait`), or collected garbage (none of which is the code's doing),
and one user line accounts for at least half of `block_ms` of it, net of the same waits and of
thread starts. So a slow machine, a CPU hog next door or a garbage collection never turns a
free-running app into a blocking one, and a step slow in library code is never pinned on a user
line that was on the stack for a moment. One the sampler never saw (no CPU for it) is `unjudged`.
Wall time far above CPU time means the step was waiting (I/O, a sleep, a lock); about equal, computing.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.blame import blamed_place, copy_stack_of, heaviest_chain, may_interrupt
from fastapi_async_katas.engine.clocks import ReadyClock, WaitMarks
from fastapi_async_katas.engine.gilwait import GilWait
from fastapi_async_katas.engine.offloads import OffloadWatch
from fastapi_async_katas.engine.records import GIL_SHARE, Block, LoopHung
from fastapi_async_katas.engine.stalls import WakeWatch
from fastapi_async_katas.engine.steps import Step
from fastapi_async_katas.engine.userfiles import UserFiles

# The blamed line must itself account for this share of `block_ms`, so a step that is slow in
# library code never lands on a user line that merely happened to be running for a moment.
BLAME_SHARE = 0.5
# In a long step, sample every tenth of its age so far, at most every 50 ms.
SLOWDOWN = 0.1
MAX_INTERVAL_S = 0.05

_original_run = asyncio.events.Handle._run
_original_start = threading.Thread.start
_active: dict[int, "LoopWatch"] = {}
_get_ident = threading.get_ident


def _timed_run(handle: asyncio.events.Handle) -> None:
    watch = _active.get(_get_ident())
    if watch is None or watch._step is not None:
        return _original_run(handle)
    watch._begin_step(handle)
    try:
        return _original_run(handle)
    finally:
        watch._end_step()


def _timed_start(thread: threading.Thread) -> None:
    """`Thread.start` waits until the new thread first runs, long when other threads hold the GIL or
    the CPUs are busy: no sample taken after it returns may carry that wait to a user line."""
    watch = _active.get(_get_ident())
    step = watch._step if watch is not None else None
    if step is None:
        return _original_start(thread)
    began, ready, held = time.perf_counter(), watch._ready.read(), step.held_s
    try:
        return _original_start(thread)
    finally:  # net of the waits for a CPU and for the sampler, counted apart
        step.starting_s += max(time.perf_counter() - began - (watch._ready.read() - ready) - (step.held_s - held), 0.0)


# Blame looks only below this frame: the code that runs the loop is never the user's block.
_STEP_CODE = _timed_run.__code__


@dataclass
class LoopWatch:
    """Watch the event loop of the thread that calls `start()` (use it as a context manager on
    that thread). `blocks` lists the blocked steps that reached a user file."""

    user_files: UserFiles = field(default_factory=UserFiles)
    block_ms: float = 50.0
    sample_after_ms: float | None = None  # 20 ms; less, and more often, under a 48 ms threshold (see below)
    interval_ms: float = 4.0
    hang_s: float | None = None
    # A context variable whose value, in the context a step runs in, says which request it serves.
    request_var: Any = None

    blocks: list[Block] = field(default_factory=list, init=False)
    unjudged: list[Block] = field(default_factory=list, init=False)  # long steps the sampler never saw
    hung: Block | None = field(default=None, init=False)
    own_threads: set[int] = field(default_factory=set, init=False)  # native ids: the loop's, the sampler's
    # Past this `perf_counter()` time a running step is hung, however young: a stuck loop must not wait `hang_s` per request.
    deadline: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.sample_after_ms is None:  # a step just past the threshold gets samples worth half of it to blame
            self.interval_ms = min(self.interval_ms, self.block_ms / 4)
            self.sample_after_ms = min(20.0, self.block_ms / 2 - self.interval_ms)
        self._tid = 0
        self._step: Step | None = None
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._old_handler: Any = None
        self._ready = ReadyClock(open_now=False)
        self._gil: GilWait | None = None
        self._offloads = OffloadWatch(self.user_files)
        self._wakes = WakeWatch()
        self.marks = WaitMarks()  # the loop thread's CPU wait, now and then

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "LoopWatch":
        self._tid = threading.get_ident()
        if self._tid in _active:
            raise RuntimeError("a LoopWatch is already active on this thread")
        self._ready, self._gil = ReadyClock(), GilWait()
        _active[self._tid] = self
        self._offloads.install()
        self._wakes = WakeWatch()
        asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]
        threading.Thread.start = _timed_start  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        if self.hang_s is not None and threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGUSR1, self._raise_hung)
        self._sampler = threading.Thread(target=self._sample_loop, name="loopwatch", daemon=True)
        self._sampler.start()
        self.own_threads = {threading.get_native_id(), self._sampler.native_id}
        return self

    def stop(self) -> None:
        """Stop watching; safe to call more than once, and after a `start()` that failed."""
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
        _active.pop(self._tid, None)
        self._offloads.uninstall()
        self._wakes.close()
        if not _active:
            asyncio.events.Handle._run = _original_run  # type: ignore[method-assign]
            threading.Thread.start = _original_start  # type: ignore[method-assign]
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._old_handler is not None:
            signal.signal(signal.SIGUSR1, self._old_handler)
            self._old_handler = None
        self._ready.close()
        if self._gil is not None:
            self._gil.close()

    def __enter__(self) -> "LoopWatch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queries -----------------------------------------------------------------------
    def cpu_wait_s(self) -> float:
        """Seconds the watched thread has spent ready to run but waiting for a CPU, so far."""
        return self._ready.read()

    def blocks_between(self, start: float, end: float, *, unjudged: bool = False) -> list[Block]:
        return [b for b in (self.unjudged if unjudged else self.blocks) if start <= b.started <= end]

    # -- loop thread -------------------------------------------------------------------
    def _begin_step(self, handle: asyncio.events.Handle | None = None) -> None:
        # What every step costs: four clock reads here, one at its end. The rest is for long steps.
        (ready, runs), now, cpu, process = self._ready.read_runs(), time.perf_counter(), time.thread_time(), time.process_time()
        stall = self._wakes.stall_before(now, ready, cpu, process, self.block_ms)
        if stall is not None:
            self._held_by(stall, stall.started, now)
            if stall.held_by:  # the app's own work held the GIL: not a thread of the world or a library
                self.blocks.append(stall)
        self._step = Step(now, cpu, ready, process, runs)
        if now >= self.marks.next_at:
            self.marks.note(now, ready)
        if self.request_var is not None and handle is not None:
            self._step.context = getattr(handle, "_context", None)

    def _end_step(self) -> None:
        end = time.perf_counter()
        step, self._step = self._step, None
        if step is None:
            return
        wall_ms = (end - step.started) * 1000
        if wall_ms < self.block_ms:
            self._wakes.step_ended(end)
            return
        cpu_ms = (time.thread_time() - step.cpu0) * 1000
        ready = self._ready.read()
        self._wakes.step_ended(end, ready, time.thread_time(), time.process_time())
        waiting_ms = min((max(ready - step.ready0, 0.0) + step.held_s) * 1000, max(wall_ms - cpu_ms, 0.0))
        if wall_ms - waiting_ms - step.gc_s * 1000 < self.block_ms:
            return
        # A copy: a late sample may still add to the step's weights while its stacks are resolved.
        chain, weight_s = heaviest_chain(step.stack_weights(), self.user_files, _STEP_CODE)
        blamed = bool(chain) and weight_s * 1000 >= BLAME_SHARE * self.block_ms
        others_ms = max((time.process_time() - step.process_cpu0) * 1000 - cpu_ms, 0.0)
        # The sampler needs the GIL too: with no sample at all, it never got it after its first wait.
        gap_s = step.longest_gap_s if step.samples else end - step.started - self.sample_after_ms / 1000
        block = Block(chain[-1] if blamed else None, wall_ms, cpu_ms, step.started, step.samples,
                      min(waiting_ms, wall_ms), chain if blamed else (), others_ms, gap_s * 1000,
                      waiting_for_gil_ms=step.gil_s * 1000, gil_measured=bool(step.samples) and self._gil is not None and self._gil.measures,
                      waiting_own_ms=step.own_s * 1000)
        # Read at the end: a request's first step sets the variable while it runs.
        served = step.context.get(self.request_var, None) if step.context is not None else None
        block.request = getattr(served, "index", None)
        # Work handed to a thread is to blame when it held the GIL in one piece (`json.dumps` of a
        # big object), not when many threads took turns with the loop (each running its own loop, say).
        if block.kind == "gil" and block.held_in_one_piece:
            self._held_by(block, step.started, end)
        own_ms = wall_ms - waiting_ms - (step.gc_s + step.starting_s + step.gil_s) * 1000
        if not block.held_by and (not blamed or own_ms < self.block_ms):
            if not step.samples and own_ms >= self.block_ms:
                self.unjudged.append(block)  # the sampler never got a CPU: whose code ran is not known
            return  # slow in library code, or long only while a thread started, with no handed-over work holding the GIL
        self.blocks.append(block)

    def _held_by(self, block: Block, start: float, end: float) -> None:
        """Name the work another thread ran while the loop waited for the GIL, if it is known."""
        busiest = self._offloads.busiest_between(start, end)
        # Work that computed for half the stall, or a block's length, held the GIL: not one of
        # many threads that each ran a moment, taking turns with the loop.
        enough_ms = min(GIL_SHARE * block.stalled_ms, self.block_ms)
        if busiest is not None and busiest.cpu_so_far() * 1000 >= enough_ms:
            block.held_by, block.held_by_place = busiest.name, busiest.place
            if block.place is None and busiest.place is not None:
                block.place, block.chain = busiest.place, (busiest.place,)  # no line of the app's ran: the one that handed the work over

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
        if not may_interrupt(frame, self.user_files, _STEP_CODE):
            # Raised here, it would break the plugin's or asyncio's own state: the sampler
            # signals again at its next sample, when the loop may be in the app's code.
            step.hang_signalled = False
            return
        raise LoopHung(self.hung)

    # -- sampler thread ----------------------------------------------------------------
    def _sample_loop(self) -> None:
        sample_after = self.sample_after_ms / 1000
        interval = wait = self.interval_ms / 1000
        gil = self._gil
        assert gil is not None, "the sampler starts once the watch has"
        while not self._stop.wait(wait):
            # Each wake takes the GIL from the loop thread: sleep until the step could be old
            # enough to sample (its samples credit all the time since `sample_after` anyway).
            step = self._step
            if step is None:
                wait = sample_after
                continue
            now = time.perf_counter()
            running = now - step.started
            if running < sample_after:
                wait = max(interval, sample_after - running)
                continue
            ready, runs = self._ready.read_runs()
            # Each sample takes the GIL from the loop thread, and gives it back only when this
            # thread gets a CPU again: in a long step, fewer samples will do.
            wait = min(max(interval, running * SLOWDOWN), MAX_INTERVAL_S)
            stack, step.outermost = copy_stack_of(self._tid, _STEP_CODE, step.outermost)
            if self._step is not step:
                continue
            step.weigh(stack, now, ready, sample_after, gil.cpu(), gil.in_own_call(), runs)
            # While this thread holds the GIL the loop thread cannot run; on a busy machine
            # this thread may lose its CPU meanwhile. That wait is the sampler's, not the code's.
            step.held_s += time.perf_counter() - now
            if self._is_hung(step, now) and not step.hang_signalled:
                step.hang_signalled = True
                self.hung = Block(blamed_place(stack, self.user_files, _STEP_CODE), running * 1000, 0.0, step.started)
                if self._old_handler is not None:
                    signal.pthread_kill(self._tid, signal.SIGUSR1)

    def _is_hung(self, step: Step, now: float) -> bool:
        """Whether this step has run past the hang limit, or past the deadline of the requests."""
        if self.hang_s is not None and now - step.started >= self.hang_s:
            return True
        return self.deadline is not None and now >= self.deadline
