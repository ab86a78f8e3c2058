"""A context value set in a worker thread is lost to the route; the watch and the log check say where."""

from __future__ import annotations

import logging
from collections import Counter
from contextvars import ContextVar
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI

from fastapi_async_katas import KataFailure, ThreadpoolCalls, capture_log, serve
from fastapi_async_katas.engine.userfiles import UserFiles

HERE = UserFiles.under([Path(__file__).parent])
user: ContextVar[str] = ContextVar("user", default="anonymous")
log = logging.getLogger("test.contextwatch.audit")


def who_in_a_thread() -> str:
    user.set("foo")  # in the worker thread's copy of the context
    return "foo"


async def who_on_the_loop() -> str:
    user.set("foo")
    return "foo"


def app_with(dependency) -> FastAPI:
    app = FastAPI()

    @app.get("/", dependencies=[Depends(dependency)])
    async def root():
        log.info("user=%s read", user.get())
        return {}

    return app


async def test_a_value_set_in_a_threadpool_dependency_is_lost_and_the_failure_says_where():
    with ThreadpoolCalls(HERE).installed() as calls, capture_log(log.name) as lines:
        async with serve(app_with(who_in_a_thread), user_files=HERE) as harness:
            run = await harness.fire("GET", "/", n=3)
    assert [p.function for p in calls.ran] == ["who_in_a_thread"] * 3
    assert {p.function for p in calls.context_sets} == {"who_in_a_thread"}
    assert lines.values("user") == Counter({"anonymous": 3})
    with pytest.raises(KataFailure) as failure:
        lines.expect_values(run, "user", Counter({"foo": 3}), headline="The log did not name the user.", explain=calls)
    text = str(failure.value)
    assert "3 lines in the test.contextwatch.audit log: 3× user=anonymous" in text
    assert "who_in_a_thread() ran in a threadpool worker for 3 of the 3 requests, borrowing 3 threadpool tokens" in text
    assert 'user.set("foo")  # in the worker thread' in text and "copy of the request's" in text


async def test_a_value_set_on_the_loop_reaches_the_route_and_nothing_ran_in_a_thread():
    with ThreadpoolCalls(HERE).installed() as calls, capture_log(log.name) as lines:
        async with serve(app_with(who_on_the_loop), user_files=HERE) as harness:
            run = await harness.fire("GET", "/", n=3)
    assert calls.ran == [] and calls.context_sets == []
    lines.expect_values(run, "user", Counter({"foo": 3}), headline="unused", explain=calls)


def test_the_captured_lines_stay_out_of_the_loggers_usual_path(caplog):
    with capture_log(log.name) as lines:
        log.info("user=bar x")
    assert len(lines.records) == 1 and caplog.records == []
    assert log.propagate
