"""The in-process harness: lifespan, concurrency, missing awaits, and nothing that hangs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import BackgroundTasks, FastAPI, Request
from verdicts import explanation

from fastapi_async_katas import KataFailure, serve
from fastapi_async_katas.engine.exits import TRIED_TO_EXIT
from fastapi_async_katas.engine.firing import Settings, StartupError
from fastapi_async_katas.engine.userfiles import UserFiles

HERE = UserFiles.under([Path(__file__).parent])
QUICK = Settings(request_timeout_s=0.5, lifespan_timeout_s=0.5, hang_s=0.5)


def line_of(func, text: str) -> int:
    """The line number of the first line in `func`'s source that contains `text`."""
    import inspect

    lines, start = inspect.getsourcelines(func)
    return start + next(i for i, line in enumerate(lines) if text in line)


async def test_lifespan_runs_and_its_state_reaches_every_request():
    events = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root(request: Request):
        return {"greeting": request.state.greeting}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/", n=3)
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]
    run.expect_status(200).expect_json({"greeting": "hello"})


async def test_concurrent_requests_are_in_the_app_together():
    app = FastAPI()

    @app.get("/")
    async def root():
        await asyncio.sleep(0.1)
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/", n=10)
    assert run.max_in_flight == 10
    assert not run.blocks


async def test_a_blocking_route_is_served_one_at_a_time_and_blamed():
    app = FastAPI()

    @app.get("/")
    async def root():
        time.sleep(0.1)
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/", n=3)
    assert run.max_in_flight == 1
    # Each request blocks; on a very busy machine a step may be excused as waiting for a CPU.
    assert run.blocks and {b.place.line for b in run.blocks} == {line_of(root, "time.sleep")}
    assert all(b.kind == "io" for b in run.blocks)
    with pytest.raises(KataFailure, match="served one after another"):
        run.expect_in_flight(at_least=2)


async def test_coroutine_origins_are_tracked_only_once_one_went_unawaited():
    """Tracking costs every coroutine the app creates: it stays off until it is needed."""
    app = FastAPI()
    depths = []

    async def save(item):
        pass

    @app.get("/clean")
    async def clean():
        depths.append(sys.get_coroutine_origin_tracking_depth())
        return {}

    @app.get("/dropped")
    async def dropped():
        depths.append(sys.get_coroutine_origin_tracking_depth())
        save("foo")
        return {}

    async with serve(app, user_files=HERE) as harness:
        clean_run = await harness.fire("GET", "/clean", n=3)
        dropped_run = await harness.fire("GET", "/dropped", stagger_s=0.01, n=4)
    assert clean_run.unawaited == [] and depths[:3] == [0, 0, 0]
    assert depths[3] == 0 and all(depth > 0 for depth in depths[4:])
    # The first was placed by reading the source, the others by their origin: the same line.
    assert {u.created_at.line for u in dropped_run.unawaited} == {line_of(dropped, 'save("foo")')}
    assert len(dropped_run.unawaited) == 4


async def test_a_coroutine_made_before_tracking_is_placed_by_the_function_that_let_it_go():
    app = FastAPI()

    async def notify(item):
        pass

    @app.get("/a")
    async def route_a():
        notify("a")
        return {}

    @app.get("/b")
    async def route_b(loud: bool = False):
        if loud:
            notify("b!")
        else:
            notify("b")
        return {}

    async with serve(app, user_files=HERE) as harness:
        first = await harness.fire("GET", "/a")
        second = await harness.fire("GET", "/b")
    # The first is placed by reading the source: one call of notify() in the function that let it go.
    assert [u.created_at.line for u in first.unawaited] == [line_of(route_a, 'notify("a")')]
    # The second was made with origins tracked: exact, though route_b has two such calls.
    assert [u.created_at.line for u in second.unawaited] == [line_of(route_b, 'notify("b")')]


async def test_a_coroutine_that_two_calls_could_have_made_is_not_placed_by_guessing():
    app = FastAPI()

    async def notify(item):
        pass

    @app.get("/b")
    async def route_b(loud: bool = False):
        if loud:
            notify("b!")
        else:
            notify("b")
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/b")
    assert [(u.name.rpartition(".")[2], u.created_at) for u in run.unawaited] == [("notify", None)]


async def test_a_coroutine_never_awaited_is_reported_with_the_line_that_created_it():
    app = FastAPI()
    saved = []

    async def save(item):
        saved.append(item)

    @app.post("/")
    async def create():
        save("foo")
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("POST", "/")
    run.expect_status(200)
    assert saved == []
    assert [(u.name, u.created_at.line) for u in run.unawaited] == [("test_a_coroutine_never_awaited_is_reported_with_the_line_that_created_it.<locals>.save", line_of(create, 'save("foo")'))]
    with pytest.raises(KataFailure, match=r"never awaited"):
        run.expect_all_awaited()


async def test_a_request_that_never_finishes_times_out_and_says_where_it_waits():
    app = FastAPI()
    never = asyncio.Event()

    @app.get("/")
    async def root():
        await never.wait()

    started = time.perf_counter()
    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/", n=2)
    assert time.perf_counter() - started < 3
    assert len(run.timed_out) == 2
    assert run.timed_out[0].waiting_at.line == line_of(root, "never.wait()")
    with pytest.raises(KataFailure, match=r"timed out: 2 of 2 request\(s\) got no response within 0.5 s .*still waiting at"):
        run.expect_status(200)


async def wait_for_the_payment(never: asyncio.Event) -> None:
    await never.wait()


async def test_giving_up_does_not_count_the_time_the_loop_waited_for_a_cpu():
    app = FastAPI()
    never = asyncio.Event()

    @app.get("/")
    async def root():
        await never.wait()

    async with serve(app, user_files=HERE) as harness:
        quiet = await harness.fire_many([("GET", "/", None)] * 2, give_up_s=0.2)
        began = time.perf_counter()
        harness.watch.cpu_wait_s = lambda: (time.perf_counter() - began) / 2  # half of each second lost to a busy machine
        busy = await harness.fire_many([("GET", "/", None)] * 2, give_up_s=0.2)
    assert quiet.stopped and len(quiet.timed_out) == 2  # given up, not stopped by the 5 s deadline
    # Stopped 0.2 s of the machine's own time in: 0.4 s, half of it waiting for a CPU.
    assert busy.stopped and busy.ended - busy.began >= 0.39


async def test_a_request_that_never_finishes_is_located_at_the_innermost_line_that_waits():
    app = FastAPI()
    never = asyncio.Event()

    @app.get("/")
    async def checkout():
        await wait_for_the_payment(never)

    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/")
    assert run.timed_out[0].waiting_at.line == line_of(wait_for_the_payment, "never.wait()")
    assert run.timed_out[0].waiting_at.function == "wait_for_the_payment"


async def test_a_loop_stuck_for_good_is_interrupted_and_reported_as_timed_out():
    app = FastAPI()
    never = threading.Event()

    @app.get("/")
    async def root():
        never.wait()

    started = time.perf_counter()
    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/")
    assert time.perf_counter() - started < 3
    assert run.timed_out and run.timed_out[0].waiting_at.line == line_of(root, "never.wait()")
    with pytest.raises(KataFailure, match="timed out"):
        run.expect_status(200)


async def test_a_startup_that_never_finishes_fails_in_time():
    @asynccontextmanager
    async def lifespan(app):
        await asyncio.Event().wait()
        yield

    app = FastAPI(lifespan=lifespan)
    with pytest.raises(StartupError, match="timed out: the app's startup did not finish within 0.5 s"):
        async with serve(app, user_files=HERE, settings=QUICK):
            pass


async def test_a_startup_that_raises_names_the_line():
    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("no config")
        yield

    app = FastAPI(lifespan=lifespan)
    with pytest.raises(StartupError, match="the app failed to start") as info:
        async with serve(app, user_files=HERE, settings=QUICK):
            pass
    assert info.value.place.line == line_of(lifespan, "raise RuntimeError")


async def test_an_exception_in_a_route_is_a_500_with_its_line():
    app = FastAPI()

    @app.get("/")
    async def root():
        raise ValueError("bad")

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/")
    assert run.status_counts == {"500": 1}
    with pytest.raises(KataFailure) as info:
        run.expect_status(200)
    message = str(info.value)
    assert "GET / → ValueError: bad" in message
    assert f"test_harness.py:{line_of(root, 'raise ValueError')} in root()" in message


async def test_a_slow_answer_fails_the_latency_bound_and_says_how_slow():
    app = FastAPI()

    @app.get("/")
    async def root():
        await asyncio.sleep(0.3)
        return {}

    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("GET", "/")
    run.expect_max_latency(5.0)
    with pytest.raises(KataFailure, match=r"GET / took 0\.\d\d s while a report ran\.\n  measured: slowest GET /: 0\.\d\d s\n  expected: every GET / answered in under 0\.10 s"):
        run.expect_max_latency(0.1, while_="a report ran")


async def test_on_answer_sees_each_answer_before_the_work_left_for_after_it():
    app = FastAPI()
    done: list[int] = []

    @app.post("/orders")
    async def create(n: int, background: BackgroundTasks):
        background.add_task(done.append, n)
        return {"n": n}

    saved_when_answered: dict[int, bool] = {}

    def on_answer(record, body: bytes) -> None:
        n = int(body.decode().split(":")[1].rstrip("}"))
        saved_when_answered[n] = n in done

    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire_many([("POST", "/orders?n=1", None), ("POST", "/orders?n=2", None)], on_answer=on_answer)
    assert saved_when_answered == {1: False, 2: False}
    assert sorted(done) == [1, 2]
    for record in run.requests:
        assert record.started <= record.answered <= record.finished


async def test_each_request_of_a_burst_may_carry_headers_of_its_own():
    app = FastAPI()

    @app.get("/whoami")
    async def whoami(request: Request):
        return {"key": request.headers.get("x-api-key"), "agent": request.headers.get("user-agent")}

    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire_many(
            [("GET", "/whoami", None, {"X-API-Key": "key-foo"}), ("GET", "/whoami", None)], headers={"User-Agent": "shop"}
        )
    assert run.json() == [{"key": "key-foo", "agent": "shop"}, {"key": None, "agent": "shop"}]


@pytest.mark.parametrize("how", ["sys.exit(0)", "os._exit(0)"])
async def test_an_app_that_tries_to_end_the_process_fails_the_request_and_names_the_line(how):
    import os
    import sys

    app = FastAPI()

    @app.get("/")
    async def root():
        eval(how, {"os": os, "sys": sys})
        return {}

    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/")
    assert run.requests[0].status == 500
    with pytest.raises(KataFailure) as failure:
        run.expect_status(200)
    text = explanation(failure.value)
    assert text.startswith("GET / tried to end the process at tests/test_harness.py:")
    assert TRIED_TO_EXIT in text


async def test_os_exit_is_itself_again_once_the_harness_is_done():
    import os

    before = os._exit
    async with serve(FastAPI(), user_files=HERE, settings=QUICK):
        assert os._exit is not before
    assert os._exit is before


async def test_a_start_that_fails_half_way_is_undone_and_the_next_serve_works(monkeypatch):
    from fastapi_async_katas.engine import firing

    def broken(self):
        raise RuntimeError("could not catch coroutines")

    monkeypatch.setattr(firing.UnawaitedCatcher, "__enter__", broken)
    with pytest.raises(RuntimeError, match="could not catch coroutines"):
        async with serve(FastAPI(), user_files=HERE, settings=QUICK):
            pass
    monkeypatch.undo()
    async with serve(FastAPI(), user_files=HERE, settings=QUICK) as harness:
        (await harness.fire("GET", "/")).expect_status(404)


# A fresh process, where nothing has loaded anyio's backend yet (in this one, anyio's pytest plugin
# has): the first `def` route and the first call of a client built at startup would load them mid-burst.
FIRST_USE = """
import asyncio, contextlib, importlib.abc, sys
import httpx
from fastapi import FastAPI
from fastapi_async_katas import serve
from fastapi_async_katas.engine.lazyparts import ANYIO_BACKEND

imported = []
class Noting(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        imported.append(name)
sys.meta_path.insert(0, Noting())

async def lifespan(app):
    async with httpx.AsyncClient() as client:
        app.state.client = client
        yield

app = FastAPI(lifespan=contextlib.asynccontextmanager(lifespan))

@app.get("/work")
def work():
    return {"ok": True}

@app.get("/call")
async def call():
    try:
        await app.state.client.get("http://127.0.0.1:9/")
    except httpx.ConnectError:
        return {"refused": True}

async def main():
    print("before:", [name for name in [ANYIO_BACKEND, "httpcore"] if name in sys.modules])
    async with serve(app) as shop:
        imported.clear()
        (await shop.fire("GET", "/work", n=5)).expect_status(200)
        (await shop.fire("GET", "/call")).expect_status(200)
    print("during:", [name for name in imported if name.startswith(("anyio", "httpcore"))])

asyncio.run(main())
"""


def test_the_libraries_parts_that_load_on_first_use_are_loaded_before_the_first_request(tmp_path):
    """A burst must not pay for importing anyio's backend (20-100 ms on the loop)."""
    script = tmp_path / "first_use.py"
    script.write_text(FIRST_USE)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "before: []" in done.stdout, f"already loaded, so this proves nothing: {done.stdout}"
    assert "during: []" in done.stdout, done.stdout


def test_the_hang_signal_never_interrupts_the_plugins_or_asyncios_own_code():
    import asyncio
    import os
    import types

    from fastapi_async_katas.engine import loopwatch

    watch = loopwatch.LoopWatch(HERE)
    watch._step = loopwatch.Step(0.0, 0.0, 0.0, 0.0)
    watch._step.hang_signalled = True
    for module in (asyncio.events, loopwatch):
        frame = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=module.__file__))
        watch._raise_hung(0, frame)  # no raise: signalled again later
        assert watch._step.hang_signalled is False
        watch._step.hang_signalled = True

    def called_from(filename: str, caller: object = None) -> object:
        return types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename=filename), f_back=caller)

    # Code the plugin called: a dataclass's generated `__init__` (in "<string>"), the stdlib.
    for innermost in ("<string>", os.__file__):
        watch._raise_hung(0, called_from(innermost, called_from(loopwatch.__file__, sys._getframe())))
        assert watch._step.hang_signalled is False, innermost
        watch._step.hang_signalled = True
    # The frame that runs the step, between the callback's return and the step's end; the
    # stdlib called by asyncio.
    step_frame = types.SimpleNamespace(f_code=loopwatch._STEP_CODE, f_back=None)
    for innermost in (step_frame, called_from(os.__file__, called_from(asyncio.events.__file__, step_frame))):
        watch._raise_hung(0, innermost)
        assert watch._step.hang_signalled is False, innermost
        watch._step.hang_signalled = True
    with pytest.raises(loopwatch.LoopHung):  # the stdlib, called by the app's code
        watch._raise_hung(0, called_from(os.__file__, sys._getframe()))
    with pytest.raises(loopwatch.LoopHung):
        watch._raise_hung(0, sys._getframe())


def serial_app(middleware: str) -> FastAPI:
    """A route that holds the loop while it works, so it serves one request at a time, behind a
    middleware of some kind."""
    app = FastAPI()

    @app.get("/")
    async def root():
        time.sleep(0.06)
        return {}

    if middleware == "base":

        @app.middleware("http")
        async def request_id(request: Request, call_next):
            response = await call_next(request)
            response.headers["x-request-id"] = "1"
            return response

    elif middleware == "pure":
        inner = app.build_middleware_stack

        def with_pure_middleware():
            stack = inner()

            async def tagging(scope, receive, send):
                await stack(scope, receive, send)

            return tagging

        app.build_middleware_stack = with_pure_middleware
    return app


@pytest.mark.parametrize("middleware", ["base", "pure", "none"])
async def test_a_serial_route_is_served_one_at_a_time_whatever_middleware_takes_the_requests_in(middleware):
    async with serve(serial_app(middleware), user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/", n=5)
    run.expect_status(200)
    assert run.max_in_flight == 1
    with pytest.raises(KataFailure, match="5 concurrent requests were served one after another"):
        run.expect_in_flight(at_least=3)


async def test_a_request_hung_behind_a_base_middleware_is_located_where_the_route_waits():
    app = FastAPI()
    never = asyncio.Event()

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        return await call_next(request)

    @app.get("/")
    async def root():
        await wait_for_the_payment(never)

    async with serve(app, user_files=HERE, settings=QUICK) as harness:
        run = await harness.fire("GET", "/")
    assert run.timed_out[0].waiting_at.line == line_of(wait_for_the_payment, "never.wait()")
