"""The rules that keep blame honest: time that is not the user's code's doing is never pinned on it.

Each test runs one loop step of about 150 ms (against a 50 ms threshold) in which the user's
code, in a file of its own, plays a small part; the rest is a library's, a collection's, or a
new thread's getting started. None of it may come out as a block of the user's.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib.util
import json
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from fastapi_async_katas.engine.blame import may_interrupt
from fastapi_async_katas.engine.loopwatch import LoopWatch
from fastapi_async_katas.engine.threadwaits import cpu_wait_of
from fastapi_async_katas.engine.userfiles import UserFiles

LONG_S = 0.15


def user_module(folder: Path, source: str) -> ModuleType:
    path = folder / "usercode.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(f"usercode_{id(folder)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_wait_s(native_id: int) -> float:
    """Seconds the process's thread `native_id` has spent ready to run but waiting for a CPU so
    far (Linux schedstat; 0 elsewhere, and for a thread that has ended)."""
    return cpu_wait_of(f"self/task/{native_id}") or 0.0


def watch_one_step(folder: Path, step, watch: LoopWatch | None = None) -> LoopWatch:
    """Run `step` as one callback of a fresh event loop, watched (by `watch`, or a new watch)
    with the user's files in `folder`."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_soon(lambda: (step(), done.set_result(None)))
        await done

    watch = watch if watch is not None else LoopWatch(UserFiles.under([folder]), block_ms=50.0)
    with watch:
        asyncio.run(main())
    return watch


def skip_if_never_seen(watch: LoopWatch) -> None:
    """A step the sampler never saw (it never got a CPU) is not judged: skip, never pass or fail."""
    if watch.unjudged and not watch.blocks:
        pytest.skip("inconclusive: the sampler never saw the step, the CPUs busy")


def test_a_step_slow_in_library_code_is_not_pinned_on_a_user_line_that_ran_for_a_moment(tmp_path):
    user = user_module(
        tmp_path,
        """
        import time

        def tally():
            deadline = time.thread_time() + 0.01
            while time.thread_time() < deadline:
                pass
        """,
    )

    def library_step() -> None:
        time.sleep(0.03)  # past the sampler's first 20 ms, which are nobody's
        user.tally()  # 10 ms of the user's code: less than half the 50 ms threshold
        time.sleep(LONG_S)

    watch = watch_one_step(tmp_path, library_step)
    assert watch.blocks == []


def test_a_garbage_collection_is_never_the_users_block(tmp_path):
    user = user_module(
        tmp_path,
        """
        import gc

        def tidy():
            gc.collect()
        """,
    )
    on_loop = threading.get_ident()

    def slow_collection(phase: str, info: dict) -> None:
        # Inside the collection as the watch times it: its own callback ran just before.
        if phase == "start" and threading.get_ident() == on_loop:
            time.sleep(LONG_S)

    def step() -> None:
        gc.callbacks.append(slow_collection)
        try:
            user.tidy()
        finally:
            gc.callbacks.remove(slow_collection)

    watch = watch_one_step(tmp_path, step)
    assert watch.blocks == []


class _SlowToStart(threading.Thread):
    """A thread that takes 150 ms to get going, as a new thread does on a machine whose GIL or
    CPUs are busy: `start()` waits for it all that time."""

    def _bootstrap_inner(self) -> None:
        time.sleep(LONG_S)
        super()._bootstrap_inner()


def test_waiting_for_a_new_thread_to_start_is_never_the_users_block(tmp_path):
    user = user_module(
        tmp_path,
        """
        def spawn(thread_class):
            worker = thread_class(target=lambda: None)
            worker.start()
            return worker
        """,
    )
    started = []
    watch = watch_one_step(tmp_path, lambda: started.append(user.spawn(_SlowToStart)))
    started[0].join()
    assert watch.blocks == []


class _GilHeldWhileStarting(threading.Thread):
    """A thread that holds the GIL for 150 ms as it gets going, as one does whose CPU is taken
    from it at the wrong moment: the sampler cannot look at the loop until `start()` has returned."""

    def _bootstrap_inner(self) -> None:
        ctypes.PyDLL(None).usleep(int(LONG_S * 1e6))  # PyDLL keeps the GIL through the call
        super()._bootstrap_inner()


def test_a_late_sample_after_a_slow_thread_start_does_not_carry_the_start(tmp_path):
    """`start()` returned, and the user's next line ran for a moment when the sampler got the GIL:
    the time the thread took to start is still not the user's."""
    user = user_module(
        tmp_path,
        """
        import time

        def spawn_then_tally(thread_class):
            worker = thread_class(target=lambda: None)
            worker.start()
            deadline = time.thread_time() + 0.03
            while time.thread_time() < deadline:
                pass
            return worker
        """,
    )
    # Whether the sampler's first look comes before `start()` returns or after is a race: try it often.
    for _ in range(8):
        started = []
        watch = watch_one_step(tmp_path, lambda: started.append(user.spawn_then_tally(_GilHeldWhileStarting)))
        started[0].join()
        assert watch.blocks == []


def test_the_time_a_thread_takes_to_start_is_counted_apart_in_the_step(tmp_path):
    """Whether a sample lands inside `start()` or after it is a race; the time it took is not."""
    watch = LoopWatch(UserFiles.under([tmp_path]), block_ms=50.0)
    seen = []

    def step() -> None:
        worker = _SlowToStart(target=lambda: None)
        worker.start()
        seen.append((watch._step.starting_s, worker))

    watch_one_step(tmp_path, step, watch)
    starting_s, worker = seen[0]
    worker.join()
    assert starting_s >= 0.5 * LONG_S


def test_a_slow_thread_start_does_not_outweigh_the_users_real_block_in_the_same_step(tmp_path):
    """Samples taken while a thread starts weigh nothing: the line blamed is the one that blocked."""
    user = user_module(
        tmp_path,
        """
        import time

        def spawn_then_sleep(thread_class):
            worker = thread_class(target=lambda: None)
            worker.start()
            time.sleep(0.08)
            return worker
        """,
    )
    started = []
    watch = watch_one_step(tmp_path, lambda: started.append(user.spawn_then_sleep(_SlowToStart)))
    started[0].join()
    skip_if_never_seen(watch)
    assert [(b.place.line, b.kind) for b in watch.blocks] == [(7, "io")]


def test_work_a_new_pool_thread_computes_while_it_starts_is_still_a_gil_stall(tmp_path):
    """A pool's first thread may run its work before `start()` has returned to the loop: while
    that work holds the GIL, the loop is stalled by it, starting a thread or not."""
    user = user_module(
        tmp_path,
        """
        def hand_over(pool, work, *args):
            return pool.submit(work, *args)
        """,
    )
    sample = [{"id": i, "name": f"item {i}"} for i in range(20_000)]
    began = time.thread_time()
    json.dumps(sample)
    big = sample * max(1, int(3 * 0.05 / max(time.thread_time() - began, 1e-4)))  # about 150 ms to dump
    pool = ThreadPoolExecutor(1)
    try:
        watch = watch_one_step(tmp_path, lambda: user.hand_over(pool, json.dumps, big))
    finally:
        pool.shutdown(wait=True)
    [dump] = watch._offloads.offloads
    if dump.cpu_s < 0.5 * (dump.ended - dump.started):
        pytest.skip(f"inconclusive: the dump computed for {dump.cpu_s:.2f} s of its {dump.ended - dump.started:.2f} s, the CPUs busy")
    assert [(b.kind, b.held_by, b.place.line) for b in watch.blocks] == [("gil", "json.dumps", 3)]


def test_the_same_steps_are_blamed_once_the_user_code_itself_waits(tmp_path):
    """The other side of the rules above: a long wait in the user's own line is a block."""
    user = user_module(
        tmp_path,
        """
        import time

        def wait():
            time.sleep(0.15)
        """,
    )
    watch = watch_one_step(tmp_path, user.wait)
    skip_if_never_seen(watch)
    assert [(Path(b.place.file).name, b.place.line, b.kind) for b in watch.blocks] == [("usercode.py", 5, "io")]


def test_a_long_step_the_sampler_never_saw_is_unjudged_not_free(tmp_path):
    """A machine too busy to give the sampler a CPU: the step is long, whose code it was is not
    known. It is kept apart as unjudged, never dropped as if the loop had been free."""
    user = user_module(
        tmp_path,
        """
        import time

        def wait():
            time.sleep(0.15)
        """,
    )
    # A sampler that first looks after ten seconds never sees a 150 ms step, as a starved one would not.
    starved = LoopWatch(UserFiles.under([tmp_path]), block_ms=50.0, sample_after_ms=10_000.0)
    watch = watch_one_step(tmp_path, user.wait, starved)
    assert watch.blocks == []
    assert [(b.place, b.samples, b.wall_ms >= 140) for b in watch.unjudged] == [(None, 0, True)]
    assert watch_one_step(tmp_path, lambda: None, LoopWatch(UserFiles.under([tmp_path]), sample_after_ms=10_000.0)).unjudged == []


@pytest.mark.skipif(not hasattr(time, "pthread_getcpuclockid"), reason="no per-thread CPU clocks here")
def test_handed_over_work_is_named_only_when_it_computed_long():
    """Many threads that each compute a little while the loop waits took turns with it: none of
    them held the GIL. Work that computed for half the stall, or for a block's length, did. A
    piece still running counts the CPU it has used so far."""
    from fastapi_async_katas.engine.offloads import Offload
    from fastapi_async_katas.engine.records import Block

    def named(*offloads: Offload) -> str:
        watch = LoopWatch()
        watch._offloads.offloads = list(offloads)
        stall = Block(None, 250.0, 10.0, 1.0, waiting_for_cpu_ms=10.0)  # 230 ms stalled
        watch._held_by(stall, 1.0, 1.12)
        return stall.held_by

    turns = [Offload(f"lookup{i}", None, started=1.0 + i / 100, ended=1.01 + i / 100, cpu_s=0.004) for i in range(10)]
    assert named(*turns) == ""
    assert named(*turns, Offload("json.dumps", None, started=0.99, ended=1.2, cpu_s=0.09)) == "json.dumps"
    # Work that took turns with other work as big, each piece still a block's length (50 ms).
    assert named(*[Offload(f"json.dumps{i}", None, started=1.0, ended=1.2, cpu_s=0.06 - i / 1000) for i in range(4)]) == "json.dumps0"
    began = time.thread_time()
    while time.thread_time() - began < 0.06:
        pass
    running = Offload("json.dumps", None, started=0.99, clock=time.pthread_getcpuclockid(threading.get_ident()), cpu0=began - 0.01)
    assert named(*turns, running) == "json.dumps"


def test_a_hang_is_never_raised_inside_the_import_machinery(tmp_path):
    """A hung step is interrupted from a signal handler, in the user's code only. Code of a frozen
    module called from it (a module lock's weakref callback, say, where an exception is only
    printed as "Exception ignored") is not the user's, however the user's line led to it."""
    user = user_module(tmp_path, "def step(inner):\n    return inner()\n")
    frozen: dict = {}
    exec(compile("import sys\n\ndef grab():\n    return sys._getframe()\n", "<frozen importlib._bootstrap>", "exec"), frozen)
    files, outside_any_step = UserFiles.under([tmp_path]), (lambda: None).__code__
    assert may_interrupt(user.step(sys._getframe), files, outside_any_step)
    assert not may_interrupt(user.step(frozen["grab"]), files, outside_any_step)
