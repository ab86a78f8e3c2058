"""Self-tests of the threadpool watch: exact token counts, waves, and how they are shown."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from _pytest.pytester import LineMatcher
from verdicts import explanation

from fastapi_async_katas.engine.firing import serve
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.threadpool import IN_TURN, QUEUED, WAVES, Borrow, ThreadpoolWatch
from fastapi_async_katas.engine.threadpool_text import sparkline
from fastapi_async_katas.engine.userfiles import UserFiles


async def borrow_in_turns(limiter, holders: int) -> tuple[list[asyncio.Event], list[asyncio.Task]]:
    """`holders` tasks each borrow a token and keep it until their gate opens."""
    gates = [asyncio.Event() for _ in range(holders)]

    async def hold(gate: asyncio.Event) -> None:
        async with limiter:
            await gate.wait()

    tasks = [asyncio.create_task(hold(g)) for g in gates]
    await asyncio.sleep(0)
    return gates, tasks


async def test_the_peak_of_borrowed_tokens_and_the_waves_are_exact():
    limiter = anyio.CapacityLimiter(3)
    watch = ThreadpoolWatch().attach(limiter)
    gates, tasks = await borrow_in_turns(limiter, 7)
    assert (watch.peak_borrowed, watch.peak_waiting) == (3, 4)
    for gate in gates:  # each holder gives its token back in turn
        gate.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert watch.peak_borrowed == 3
    assert [len(w.borrows) for w in watch.waves()] == [3, 3, 1]
    assert len(watch.waited) == 4
    assert all(b.released is not None for b in watch.borrows)
    assert watch.limit == 3
    watch.detach()


async def test_raising_the_tokens_while_callers_wait_lends_them_at_once():
    limiter = anyio.CapacityLimiter(1)
    watch = ThreadpoolWatch().attach(limiter)
    gates, tasks = await borrow_in_turns(limiter, 3)
    limiter.total_tokens = 5
    assert limiter.borrowed_tokens == 3 and watch.peak_borrowed == 3
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert watch.limit == 5
    watch.detach()


async def test_detaching_gives_the_limiter_plain_containers_back():
    limiter = anyio.CapacityLimiter(2)
    watch = ThreadpoolWatch().attach(limiter)
    watch.detach()
    assert type(limiter._borrowers) is set and type(limiter._wait_queue) is OrderedDict
    async with limiter:
        pass
    assert watch.borrows == []


def work_in_a_thread() -> str:
    time.sleep(0.01)
    return "Foo"


async def test_the_fixture_watches_the_default_limiter_and_names_the_function_run(katas_threadpool):
    assert await anyio.to_thread.run_sync(work_in_a_thread) == "Foo"
    assert katas_threadpool.limit == 40
    assert katas_threadpool.peak_borrowed == 1
    [borrow] = katas_threadpool.borrows
    assert borrow.wave == 1 and not borrow.waited
    assert borrow.place is not None and borrow.place.function == "work_in_a_thread"
    assert borrow.place.code == "def work_in_a_thread() -> str:"


# -- with an app on the event loop -------------------------------------------------------

APP = '''
import time
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    anyio.to_thread.current_default_thread_limiter().total_tokens = 4
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/slow")
def slow():
    time.sleep(0.1)
    return {"ok": True}
'''


async def test_sync_routes_beyond_the_tokens_fail_with_the_waves_shown(katas_threadpool, tmp_path: Path):
    app_file = tmp_path / "app.py"
    app_file.write_text(APP)
    katas_threadpool.user_files = UserFiles.under([tmp_path])
    async with serve(load_app(app_file, "threadpool_selftest_app"), user_files=UserFiles.under([tmp_path])) as harness:
        run = await harness.fire("GET", "/slow", n=10)
    run.expect_status(200)
    assert katas_threadpool.peak_borrowed == 4 and len(katas_threadpool.waited) == 6
    with pytest.raises(KataFailure) as failure:
        katas_threadpool.expect_no_waves(run)
    text = str(failure.value)
    waves = len(katas_threadpool.waves())
    assert text.splitlines()[0] == WAVES.format(requests=10, waves=waves, peak=4)
    LineMatcher(text.splitlines()).fnmatch_lines(
        [
            "  measured: the threadpool has 4 tokens and lent at most 4 at once; 6 requests waited for one, up to *",
            "  expected: every request gets a worker thread as soon as it needs one: none waits for a token",
            "The threadpool (anyio's default thread limiter; 0 to * s):",
            "  tokens borrowed |*| at most 4 of 4",
            "  requests waiting|*| at most 6",
            f"Requests got a worker thread in {waves} waves (· waiting for a thread, █ running in one):",
            "  wave 1 #1-#4*|*█*| 4 requests, done by * s",
            "  wave 2 *|*·█*| * requests, done by * s",
            "Each worker thread ran slow() (*app.py:19), holding its token until it returned:",
            "      def slow():",
        ]
    )


async def test_no_waiting_but_too_little_overlap_fails_as_taking_turns(katas_threadpool, tmp_path: Path):
    app_file = tmp_path / "app.py"
    app_file.write_text(APP)
    async with serve(load_app(app_file, "threadpool_selftest_app2")) as harness:
        run = await harness.fire("GET", "/slow", n=2)
    katas_threadpool.expect_no_waves(run, in_flight=2, at_least=2)
    with pytest.raises(KataFailure) as failure:
        katas_threadpool.expect_no_waves(run, in_flight=1, at_least=2, counted="calls")
    lines = explanation(failure.value).splitlines()
    assert lines[0] == IN_TURN.format(requests=2, in_flight=1, counted="calls")
    assert "  measured: no request waited for one of the threadpool's 4 tokens, so something else made them take turns" in lines


# -- explaining ----------------------------------------------------------------------------


def test_a_sparkline_shows_the_highest_value_of_each_column_on_its_scale():
    line = sparkline([(0.0, 0), (0.5, 40), (0.75, 10)], began=0.0, ended=1.0, top=40)
    assert len(line) == 48
    assert line == " " * 24 + "█" * 12 + "▂" * 12


def test_waves_are_drawn_as_a_staircase():
    watch = ThreadpoolWatch()
    watch.events = [(0.0, 0, 0, 2), (0.0, 2, 2, 2), (1.0, 2, 0, 2), (2.0, 0, 0, 2)]
    watch.borrows = [
        Borrow(0.0, 0.0, 1, request=1, released=1.0),
        Borrow(0.0, 0.0, 1, request=2, released=1.0),
        Borrow(0.0, 1.0, 2, request=3, released=2.0),
        Borrow(0.0, 1.0, 2, request=4, released=2.0),
    ]
    lines = watch.lines(0.0, 2.0)
    assert lines[1:3] == [
        "  tokens borrowed |" + "█" * 48 + "| at most 2 of 2",
        "  requests waiting|" + "█" * 24 + " " * 24 + "| at most 2",
    ]
    assert lines[-3:] == [
        "  wave 1 #1-#2 |" + "█" * 25 + " " * 23 + "| 2 requests, done by 1.00 s",
        "  wave 2 #3-#4 |" + "·" * 24 + "█" * 24 + "| 2 requests, done by 2.00 s",
        "  A request of wave 2 got a thread only when one of wave 1 gave its thread back, and so on.",
    ]
    assert not any("on their way in" in line for line in lines)


def test_a_blank_start_of_the_pool_rows_is_explained():
    watch = ThreadpoolWatch()
    watch.events = [(0.0, 0, 0, 2), (0.5, 2, 0, 2), (2.0, 0, 0, 2)]
    watch.borrows = [Borrow(0.5, 0.5, 1, request=1, released=2.0), Borrow(0.5, 0.5, 1, request=2, released=2.0)]
    lines = watch.lines(0.0, 2.0)
    assert lines[1].startswith("  tokens borrowed |" + " " * 12 + "█")
    assert lines[3] == "  (the first 0.50 s: the requests on their way in, before the first asked for a thread)"


POOL_APP = """
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

app = FastAPI()
pool = ThreadPoolExecutor(max_workers={size})


def slow():
    time.sleep(0.2)
    return 1


@app.get("/slow")
async def route():
    return await asyncio.get_running_loop().run_in_executor(pool, slow)
"""


async def serve_pool_app(tmp_path: Path, size: int, n: int):
    app_file = tmp_path / f"pool_{size}.py"
    app_file.write_text(POOL_APP.format(size=size))
    files = UserFiles.under([tmp_path])
    async with serve(load_app(app_file, f"threadpool_selftest_pool_{size}"), user_files=files) as harness:
        run = await harness.fire("GET", "/slow", n=n)
    run.expect_status(200)
    return run


async def test_work_that_waits_for_a_thread_of_the_apps_own_pool_fails_as_waves(katas_threadpool, tmp_path: Path):
    run = await serve_pool_app(tmp_path, size=3, n=8)
    with pytest.raises(KataFailure) as failure:
        katas_threadpool.expect_no_waves(run)
    lines = explanation(failure.value).splitlines()
    assert lines[0] == QUEUED.format(requests=8, queued=5, size=3)
    assert any(line.endswith("in route():") and line.startswith("Handed to the pool at ") for line in lines), lines
    assert "    return await asyncio.get_running_loop().run_in_executor(pool, slow)" in lines


async def test_a_pool_as_big_as_the_burst_makes_no_work_wait(katas_threadpool, tmp_path: Path):
    run = await serve_pool_app(tmp_path, size=8, n=8)
    katas_threadpool.expect_no_waves(run)
    assert [o.pool_size for o in katas_threadpool.pool_work_between(run.began, run.ended)] == [8] * 8
