"""On a machine too busy to judge, a check that load alone can fail says "inconclusive", never a
pass; a check of what the app answered fails as usual. `pytest --solutions` tries such a test up to
three times."""

from __future__ import annotations

import asyncio
import gc
import os
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fakecourse import make_course
from fastapi import FastAPI

from fastapi_async_katas import serve
from fastapi_async_katas.engine import threadwaits
from fastapi_async_katas.engine.clocks import BusyClock, WaitMarks
from fastapi_async_katas.engine.firing import Settings
from fastapi_async_katas.engine.judging import INCONCLUSIVE, INCONCLUSIVE_SHARE, Inconclusive, KataFailure, Run
from fastapi_async_katas.engine.records import Block, RequestRecord
from fastapi_async_katas.engine.threadwaits import ThreadWaits
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.engine.verdicts import UNJUDGED
from fastapi_async_katas.pytest_plugin import inconclusive


def slow_run(*, busy_share: float) -> Run:
    record = RequestRecord(1, "GET", "/", fired=0.0, started=0.0, finished=2.0, done=2.0, status=200, body=b'{"ok": false}')
    return Run([record], 0.0, 2.0, [], [], timeout_s=5.0, block_ms=50.0, busy_s=2.0 * busy_share)


def test_a_latency_missed_on_a_busy_machine_is_inconclusive_and_says_how_busy():
    with pytest.raises(Inconclusive) as failure:
        slow_run(busy_share=0.6).expect_max_latency(0.5)
    text = str(failure.value)
    assert text.startswith(INCONCLUSIVE.format(percent=60))
    assert "GET / took 2.00 s." in text


def test_the_same_miss_on_a_quiet_machine_is_a_failure():
    with pytest.raises(KataFailure) as failure:
        slow_run(busy_share=INCONCLUSIVE_SHARE / 2).expect_max_latency(0.5)
    assert not isinstance(failure.value, Inconclusive)


def test_a_request_slowed_while_the_machine_was_busy_is_inconclusive_however_quiet_the_rest_of_the_run():
    # Ten seconds of run, a quarter second of CPU waits: all of them while the slowest request waited.
    slow = RequestRecord(1, "GET", "/health", fired=0.0, started=0.2, finished=0.25, done=0.25, status=200, busy_s=0.15)
    quiet = RequestRecord(2, "POST", "/signup", fired=0.0, started=0.0, finished=10.0, done=10.0, status=201)
    run = Run([slow, quiet], 0.0, 10.0, [], [], timeout_s=15.0, block_ms=50.0, busy_s=0.25)
    with pytest.raises(Inconclusive) as failure:
        run.only("/health").expect_max_latency(0.1)
    assert str(failure.value).startswith(INCONCLUSIVE.format(percent=60))
    slow.busy_s = 0.01
    with pytest.raises(KataFailure) as failure:
        run.only("/health").expect_max_latency(0.1)
    assert not isinstance(failure.value, Inconclusive)


def test_the_cpu_waits_within_a_stretch_are_told_from_notes_taken_now_and_then():
    marks = WaitMarks(every_s=0.01)
    for now, wait in ((1.0, 0.0), (1.1, 0.02), (1.2, 0.09), (1.3, 0.10)):
        marks.note(now, wait)
    assert marks.next_at == pytest.approx(1.31)
    assert marks.between(1.1, 1.2) == pytest.approx(0.07)
    # From the last note at or before the start to the first at or after the end: no wait inside is missed.
    assert marks.between(1.15, 1.25) == pytest.approx(0.08)
    assert marks.between(0.0, 9.0) == pytest.approx(0.10)  # beyond the notes: the nearest ones
    assert WaitMarks().between(0.0, 1.0) == 0.0


def test_a_request_keeps_the_cpu_waits_of_its_whole_life_and_of_its_wait_to_get_in():
    marks = WaitMarks(every_s=0.01)
    for now, wait in ((1.0, 0.0), (1.1, 0.02), (1.2, 0.09), (1.3, 0.10)):
        marks.note(now, wait)
    record = RequestRecord(1, "GET", "/", fired=1.0, started=1.1, done=1.3)
    record.note_busy(marks, end=1.3)
    assert (record.busy_to_start_s, record.busy_s) == (pytest.approx(0.02), pytest.approx(0.10))
    never_in = RequestRecord(2, "GET", "/", fired=1.1)  # still waiting to get in when the burst ended
    never_in.note_busy(marks, end=1.2)
    assert (never_in.busy_to_start_s, never_in.busy_s) == (pytest.approx(0.07), pytest.approx(0.07))
    never_fired = RequestRecord(3, "GET", "/")
    never_fired.note_busy(marks, end=1.3)
    assert (never_fired.busy_to_start_s, never_fired.busy_s) == (0.0, 0.0)


def test_requests_that_timed_out_while_a_thread_of_the_app_waited_for_a_cpu_are_inconclusive():
    record = RequestRecord(1, "GET", "/", fired=0.0, timed_out=True)
    run = Run([record], 0.0, 5.0, [], [], timeout_s=5.0, block_ms=50.0, busy_s=0.1, others_busy_s=2.0)
    with pytest.raises(Inconclusive) as failure:
        run.expect_status(200)
    assert str(failure.value).startswith(INCONCLUSIVE.format(percent=40))
    run.others_busy_s = 0.5  # a tenth of the run: the deadline was missed on its own
    with pytest.raises(KataFailure) as failure:
        run.expect_status(200)
    assert not isinstance(failure.value, Inconclusive)


def test_wrong_data_is_a_failure_however_busy_the_machine():
    with pytest.raises(KataFailure) as failure:
        slow_run(busy_share=0.9).expect_json({"ok": True})
    assert not isinstance(failure.value, Inconclusive)


FLAKY = """
from pathlib import Path

from fastapi_async_katas.engine.judging import Inconclusive


def test_ping_answers_pong():
    tries = Path("tries.txt")
    count = int(tries.read_text()) + 1 if tries.exists() else 1
    tries.write_text(str(count))
    if count <= {inconclusive}:
        raise Inconclusive("inconclusive: this machine was too busy to judge (90% of the time waiting for a CPU); run it again.")
"""


def course_inconclusive(pytester: pytest.Pytester, times: int) -> pytest.Pytester:
    """A course whose one test is inconclusive the first `times` times it runs."""
    make_course(pytester)
    (pytester.path / "katas" / "01_alpha" / "test_kata.py").write_text(textwrap.dedent(FLAKY.format(inconclusive=times)))
    return pytester


@pytest.fixture
def course(pytester: pytest.Pytester) -> pytest.Pytester:
    return course_inconclusive(pytester, 1)


@pytest.mark.parametrize("times", [1, 2])
def test_solutions_tries_an_inconclusive_test_again_and_reports_the_try_that_judged(pytester, monkeypatch, times):
    monkeypatch.setattr(inconclusive, "PAUSE_S", 0.0)
    course = course_inconclusive(pytester, times)
    result = course.runpytest_inprocess("--solutions", "katas/01", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert (course.path / "tries.txt").read_text() == str(times + 1)


def test_solutions_reports_a_test_inconclusive_in_every_try_as_failed(pytester, monkeypatch):
    monkeypatch.setattr(inconclusive, "PAUSE_S", 0.0)
    course = course_inconclusive(pytester, inconclusive.MOST_TRIES)
    result = course.runpytest_inprocess("--solutions", "katas/01", "-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["inconclusive: this machine was too busy to judge*"])
    assert (course.path / "tries.txt").read_text() == str(inconclusive.MOST_TRIES)


def test_a_learners_run_reports_an_inconclusive_verdict_as_it_is(course):
    result = course.runpytest("katas/01")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["inconclusive: this machine was too busy to judge*"])


def unjudged_run(*, wall_ms: float, cpu_ms: float) -> Run:
    record = RequestRecord(1, "GET", "/", fired=0.0, started=0.0, finished=0.3, done=0.3, status=200, body=b"{}")
    step = Block(None, wall_ms, cpu_ms, 0.1)
    return Run([record], 0.0, 0.3, [], [], timeout_s=5.0, block_ms=50.0, unjudged=[step])


def test_no_block_found_while_a_long_step_went_unseen_is_inconclusive_never_a_pass():
    with pytest.raises(Inconclusive) as failure:
        unjudged_run(wall_ms=150, cpu_ms=5).expect_no_blocks()
    assert str(failure.value).startswith(UNJUDGED.format(wall_ms=150, cpu_ms=5))
    assert str(failure.value).startswith(INCONCLUSIVE.split("(")[0])  # what `--solutions` tries again
    with pytest.raises(Inconclusive):
        unjudged_run(wall_ms=150, cpu_ms=140).expect_no_cpu_blocks(cpu_ms=100)


def test_an_unseen_step_shorter_than_what_a_check_asks_about_passes_it():
    unjudged_run(wall_ms=60, cpu_ms=5).expect_no_blocks(at_least_ms=100).expect_no_cpu_blocks(cpu_ms=50)


def test_a_live_runs_busy_time_counts_the_servers_waits_and_every_collection():
    waits = iter([1.0, 3.0])
    busy = BusyClock(lambda: next(waits))  # the server's loop waited 2 s for a CPU meanwhile
    began = time.perf_counter()
    gc.collect()
    collected_s = time.perf_counter() - began
    lost = busy.stop()
    assert 2.0 + 0.5 * collected_s <= lost < 2.0 + 5.0  # the client's own waits, if any, on top
    assert busy._on_gc not in gc.callbacks and busy.stop() == lost


def blocked_run(*, wall_ms: float, waiting_for_cpu_ms: float) -> Run:
    record = RequestRecord(1, "GET", "/", fired=0.0, started=0.0, finished=0.3, done=0.3, status=200, body=b"{}")
    block = Block(None, wall_ms, 40.0, 0.1, samples=5, waiting_for_cpu_ms=waiting_for_cpu_ms)
    # The run as a whole waited nine tenths of its time for a CPU: a step is judged by its own waits.
    return Run([record], 0.0, 0.3, [block], [], timeout_s=5.0, block_ms=50.0, busy_s=0.27)


def test_a_short_block_that_waited_a_quarter_of_its_time_for_a_cpu_is_inconclusive():
    # 167 ms, 67 of them waiting for a CPU: 100 ms ran, under three times the 50 ms limit.
    with pytest.raises(Inconclusive) as failure:
        blocked_run(wall_ms=167, waiting_for_cpu_ms=67).expect_no_blocks()
    assert str(failure.value).startswith(INCONCLUSIVE.format(percent=40))
    assert "The event loop was blocked for 167 ms" in str(failure.value)


def test_a_block_is_a_failure_when_it_ran_long_or_the_machine_was_quiet_however_busy_the_run():
    for wall_ms, waiting_ms in ((400, 200), (167, 20)):  # ran 200 ms (4x the limit); waited an eighth
        with pytest.raises(KataFailure) as failure:
            blocked_run(wall_ms=wall_ms, waiting_for_cpu_ms=waiting_ms).expect_no_blocks()
        assert not isinstance(failure.value, Inconclusive), (wall_ms, waiting_ms)


@pytest.fixture
def hogged_cpu():
    """A CPU with a process computing on it: a thread put there waits about half the time it
    could run for the CPU. Yields the CPU's number; this thread's CPUs are restored after."""
    import os
    import subprocess
    import sys

    if not hasattr(os, "sched_setaffinity") or not os.path.exists("/proc/thread-self/schedstat"):
        pytest.skip("needs Linux's CPU affinity and schedstat")
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    hog = subprocess.Popen(
        [sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}}); print('spinning', flush=True)\nwhile True: pass"],
        stdout=subprocess.PIPE,
    )
    try:
        hog.stdout.readline()  # computing from now on, not still starting Python: that took most of the test's 60 ms
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)
        hog.kill()
        hog.wait()


HERE = UserFiles.under([Path(__file__).parent])


async def test_a_request_carries_the_loop_threads_waits_for_a_cpu_while_it_was_in_flight(hogged_cpu):
    os.sched_setaffinity(0, {hogged_cpu})  # this thread runs the loop
    app = FastAPI()

    @app.get("/spin")
    async def spin():
        for _ in range(20):  # 60 ms of CPU in short steps: no block, just a loop that needs a CPU
            until = time.thread_time() + 0.003
            while time.thread_time() < until:
                pass
            await asyncio.sleep(0)
        return {}

    @app.get("/nap")
    async def nap():
        await asyncio.sleep(1.5)
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire_many([("GET", "/spin", None), ("GET", "/nap", None)])
    spun = run.only("/spin").requests[0]
    # The hog takes about half of the CPU the spinning needs; the napping (asleep: no waits for a
    # CPU) dilutes the run's share, to a third of the spinning's on a quiet machine.
    assert spun.busy_share >= 0.25 and spun.busy_share > run.busy_share, (spun.busy_s, spun.latency_s, run.busy_s, run.wall_s)
    with pytest.raises(Inconclusive):
        run.only("/spin").expect_max_latency(0.01)


async def test_a_deadline_missed_while_the_thread_doing_the_work_waited_for_a_cpu_is_inconclusive(hogged_cpu):
    app = FastAPI()

    def compute() -> None:
        os.sched_setaffinity(0, {hogged_cpu})  # this worker thread shares its CPU with the hog
        until = time.thread_time() + 0.4
        while time.thread_time() < until:
            pass

    @app.get("/report")
    async def report():
        await asyncio.to_thread(compute)
        return {}

    async with serve(app, user_files=HERE, settings=Settings(request_timeout_s=0.5)) as harness:
        run = await harness.fire("GET", "/report")
    # The loop's thread only awaited: its own waits are not what made this inconclusive.
    assert run.timed_out and run.others_busy_s / run.wall_s >= 0.25 > run.busy_s / run.others_busy_s, (run.busy_s, run.others_busy_s, run.wall_s)
    with pytest.raises(Inconclusive) as failure:
        run.expect_status(200)
    assert "timed out: 1 of 1 request(s) got no response within 0.5 s" in str(failure.value)


def test_the_longest_wait_for_a_cpu_of_any_thread_counts_one_that_ended_and_leaves_out_those_named(hogged_cpu):
    def compute(seconds: float) -> None:
        os.sched_setaffinity(0, {hogged_cpu})  # on the hog's CPU: waits about as long as it computes
        until = time.thread_time() + seconds
        while time.thread_time() < until:
            pass

    waits = ThreadWaits()
    worker = threading.Thread(target=compute, args=(0.2,))
    worker.start()
    worker.join()  # gone before the end: its wait was noted as it ended
    compute(0.2)  # this thread's own wait, left out below
    assert waits.end(skip={threading.get_native_id()}) >= 0.05
    waits = ThreadWaits()
    compute(0.2)
    everyones, others = waits.end(skip=set()), waits.end(skip={threading.get_native_id()})
    assert everyones >= 0.05 and others < everyones / 2, (everyones, others)
    assert threading.Thread._bootstrap_inner is threadwaits._original_bootstrap_inner  # nothing is left patched


def compute_on(cpu: int, seconds: float) -> None:
    os.sched_setaffinity(0, {cpu})
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_a_process_pools_workers_waits_for_a_cpu_count_too(hogged_cpu):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(int).result()  # its worker runs
        waits = ThreadWaits()
        pool.submit(compute_on, hogged_cpu, 0.2).result()
        assert waits.end(skip={threading.get_native_id()}) >= 0.05
