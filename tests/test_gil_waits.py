"""A loop held off the GIL by other threads of the process is waiting, not blocking.

Threads that run Python (a library's workers, the world's, a pool busy with the app's work)
take turns with the loop thread for the GIL. A step of the loop's then lasts much longer than
the work it does: its stack sits on the user's line and its CPU clock stands still, as if the
line waited on I/O. Only the time the line itself ran, or waited in a call of its own, is the
user's. These tests run one loop step beside four such threads.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
from test_blame_rules import cpu_wait_s, user_module, watch_one_step

from fastapi_async_katas.engine import gilwait
from fastapi_async_katas.engine.gilwait import GilWait, gil_futexes
from fastapi_async_katas.engine.loopwatch import LoopWatch

USER_CODE = """
import time

def compute(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

def wait(seconds):
    time.sleep(seconds)

def compute_in_turns(seconds, turns):
    for _ in range(turns):
        compute(seconds / turns)
        time.sleep(0)  # lets go of the GIL: getting it back means waiting for the other threads
"""

needs_the_view = pytest.mark.skipif(gil_futexes() is None, reason="this system does not show where a thread waits")


@contextlib.contextmanager
def threads_running_python(count: int = 4) -> Iterator[list[threading.Thread]]:
    running = True

    def spin() -> None:
        while running:
            pass

    threads = [threading.Thread(target=spin, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        running = False
        for thread in threads:
            thread.join()


def step_beside_threads(tmp_path, work) -> tuple[LoopWatch, float, float]:
    """Watch one loop step that runs `work` beside four threads running Python. Return the
    watch, the step's wall time, and how long the loop thread, the watch's sampler (which must
    get a CPU to look at all), or the four threads (one of which holds the GIL: waiting for a CPU
    so, it keeps the others off it) waited for a CPU meanwhile: the longest of the three."""
    timed: list[float] = []

    def step(spinners: list[threading.Thread]) -> None:
        [sampler] = [thread for thread in threading.enumerate() if thread.name == "loopwatch"]
        loop_thread = threading.get_native_id()

        def waits() -> tuple[float, float, float]:
            return cpu_wait_s(loop_thread), cpu_wait_s(sampler.native_id), sum(cpu_wait_s(t.native_id) for t in spinners)

        began, before = time.perf_counter(), waits()
        work()
        timed.extend((time.perf_counter() - began, max(after - at_first for at_first, after in zip(before, waits()))))

    with threads_running_python() as spinners:
        watch = watch_one_step(tmp_path, lambda: step(spinners))
    wall, waited = timed
    return watch, wall, waited


def skip_if_it_waited_for_a_cpu(wall: float, waited: float) -> None:
    if waited >= 0.2 * wall:
        pytest.skip(f"inconclusive: the loop thread, its sampler or the threads beside it waited {waited * 1000:.0f} ms of {wall * 1000:.0f} ms for a CPU")


@needs_the_view
def test_a_line_held_off_the_gil_by_other_threads_is_not_the_users_block(tmp_path):
    """The user's line computes for 15 ms in all, well under the 50 ms threshold, and lets go of
    the GIL 20 times meanwhile; beside four threads running Python, getting it back each time
    makes its step last well over 100 ms. That is not a block of the user's."""
    user = user_module(tmp_path, USER_CODE)
    watch, wall, waited = step_beside_threads(tmp_path, lambda: user.compute_in_turns(0.015, 20))
    skip_if_it_waited_for_a_cpu(wall, waited)
    if wall < 0.1:
        pytest.skip(f"inconclusive: the step took only {wall * 1000:.0f} ms, not held off the GIL for long")
    assert watch.blocks == []


@needs_the_view
def test_a_line_that_computes_long_beside_other_threads_is_blamed_for_what_it_computed(tmp_path):
    """The other side: 150 ms of the user's own computing is a block, of kind `cpu`, however long
    the other threads held it off the GIL as well; that wait is told apart."""
    user = user_module(tmp_path, USER_CODE)
    watch, wall, waited = step_beside_threads(tmp_path, lambda: user.compute(0.15))
    if not watch.blocks:  # a sampler that never got a CPU cannot say whose code ran
        skip_if_it_waited_for_a_cpu(wall, waited)
    [block] = watch.blocks
    if block.kind != "cpu":  # told from the thread's wake-ups: one that waits for a CPU as well wakes less often
        skip_if_it_waited_for_a_cpu(wall, waited)
    assert (block.place.line, block.kind) == (6, "cpu")
    assert block.cpu_ms >= 140
    assert block.waiting_for_gil_ms > 0
    assert block.waiting_for_gil_ms <= block.wall_ms - block.cpu_ms


@needs_the_view
def test_a_line_that_waits_on_its_own_beside_other_threads_is_blamed_as_waiting(tmp_path):
    """A sleep (or I/O, or a lock) is the line's own wait, threads running Python or not. (Only
    the GIL wait after it, and the part of the sleep since the sampler last looked, are not.)"""
    user = user_module(tmp_path, USER_CODE)
    watch, wall, waited = step_beside_threads(tmp_path, lambda: user.wait(0.15))
    if not watch.blocks:
        # The sampler, held off by the threads and the busy CPUs, looked only once the sleep was
        # over and the thread had long waited for the GIL: the share that was the sleep is a guess.
        # (On a busy machine, the sampler's own wait for a CPU is what held it off.)
        skip_if_it_waited_for_a_cpu(wall, waited)
    [block] = watch.blocks
    if block.kind != "io":  # a starved sampler saw too little of the sleep to call it one (see `kind_seen_by_samples`)
        skip_if_it_waited_for_a_cpu(wall, waited)
    assert (block.place.line, block.kind) == (10, "io")


@needs_the_view
def test_a_thread_waiting_for_the_gil_is_told_from_one_asleep_on_its_own():
    """Seen from a thread that holds the GIL: a thread that wants it waits for it; one that
    sleeps, or waits on a lock of its own, is in a call of its own."""
    ready, go = threading.Event(), threading.Event()
    watched: list[GilWait] = []

    def run() -> None:
        watched.append(GilWait())
        ready.set()
        go.wait()  # a lock of its own
        deadline = time.perf_counter() + 0.5
        while time.perf_counter() < deadline:  # then Python: it wants the GIL all the time
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    time.sleep(0.02)
    [gil] = watched
    try:
        assert gil.in_own_call()
        go.set()
        time.sleep(0.05)  # taking the GIL back from it, it now waits for the GIL
        cpu = gil.cpu()
        assert not gil.in_own_call()
        time.sleep(0.05)
        assert gil.cpu() > cpu
    finally:
        thread.join()
        gil.close()


def test_where_nothing_shows_where_a_thread_waits_every_sample_is_its_own(monkeypatch):
    """On a system with no `/proc` (or no way to find the GIL's futex), waits are not told
    apart, as before there was a way to: no sample is taken for a wait for the GIL."""
    monkeypatch.setattr(gilwait, "_found", None)
    gil = GilWait()
    try:
        assert (gil.measures, gil.in_own_call(), gil.cpu()) == (False, True, 0.0)
    finally:
        gil.close()


@needs_the_view
def test_a_thread_waiting_for_a_cpu_is_not_asleep_on_its_own_account():
    """A thread can lose its CPU inside a call that returns at once (`time.sleep(0)` on a busy
    machine) and still be in that call a moment later: it is runnable then, not asleep."""
    import hashlib

    ready, go, done = threading.Event(), threading.Event(), threading.Event()
    watched: list[GilWait] = []

    def run() -> None:
        watched.append(GilWait())
        ready.set()
        go.wait()  # asleep
        while not done.is_set():
            hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 20_000)  # computing, without the GIL

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    time.sleep(0.02)
    [gil] = watched

    def seen(runnable: bool) -> bool:  # within a second: on a busy machine it may take a while to get there
        deadline = time.perf_counter() + 1.0
        while time.perf_counter() < deadline:
            if gil._runnable() == runnable:
                return True
            time.sleep(0.001)
        return False

    try:
        assert seen(runnable=False)
        go.set()
        assert seen(runnable=True)
    finally:
        done.set()
        thread.join()
        gil.close()


def test_a_call_of_its_own_counts_only_while_the_thread_is_not_runnable(monkeypatch):
    gil = GilWait()
    try:
        if not gil.measures:
            pytest.skip("this system does not show where a thread waits")
        monkeypatch.setattr(gil, "_asleep_on_its_own", lambda fd, futexes: True)
        monkeypatch.setattr(gil, "_runnable", lambda: False)
        assert gil.in_own_call()
        monkeypatch.setattr(gil, "_runnable", lambda: True)
        assert not gil.in_own_call()
    finally:
        gil.close()


def test_a_blocks_kind_is_told_from_what_its_samples_saw_where_gil_waits_are_measured():
    """150 ms of computing beside threads running Python, its GIL waits undercounted on a busy
    machine: not a wait on I/O, since no sample found the thread in a call of its own."""
    from fastapi_async_katas.engine.explaining import group_kind
    from fastapi_async_katas.engine.records import Block

    computing = Block(None, 700.0, 150.0, 0.0, samples=20, waiting_for_gil_ms=200.0, gil_measured=True, waiting_own_ms=0.0)
    sleeping = Block(None, 700.0, 20.0, 0.0, samples=20, waiting_for_gil_ms=200.0, gil_measured=True, waiting_own_ms=450.0)
    unmeasured = Block(None, 700.0, 150.0, 0.0, samples=20)
    assert [computing.kind, sleeping.kind, unmeasured.kind] == ["cpu", "io", "io"]
    assert [group_kind([computing]), group_kind([sleeping]), group_kind([computing, sleeping])] == ["cpu", "io", "io"]
