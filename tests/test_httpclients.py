"""The HTTP clients an app builds: counted at the app's own line, with their cost; the harness's
own client, and one client built at startup, are not a client per request."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from fastapi_async_katas import KataFailure, serve
from fastapi_async_katas.engine.firing import Settings
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.httpclients import HttpClientWatch

HERE = UserFiles.under([Path(__file__).parent])


def client_per_request_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def root():
        async with httpx.AsyncClient() as client:  # built for this request alone
            return {"client": type(client).__name__}

    return app


def shared_client_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with httpx.AsyncClient() as client:
            yield {"client": client}

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root(request: Request):
        return {"client": type(request.state.client).__name__}

    return app


# Building a client costs the loop tens of ms of CPU: on a busy machine, a block of its own,
# whose lines would follow the failure's. These tests are about the clients only.
NO_BLOCKS = Settings(block_ms=10_000)


async def test_a_client_built_per_request_is_counted_at_its_line_with_its_cost():
    with HttpClientWatch(HERE).installed() as watch:
        async with serve(client_per_request_app(), user_files=HERE, settings=NO_BLOCKS) as harness:
            run = await harness.fire("GET", "/", n=3)
    run.expect_status(200)
    assert len(watch.built_between(run.began, run.ended)) == 3
    assert all(c.kind == "httpx.AsyncClient" and c.cpu_ms > 0 for c in watch.built)
    with pytest.raises(KataFailure) as failure:
        watch.expect_reused(run, extra=["A word from the kata."])
    text = str(failure.value)
    assert text.startswith("The app built 3 HTTP clients for 3 requests.")
    assert "tests/test_httpclients.py:" in text and "async with httpx.AsyncClient() as client:" in text
    assert text.endswith("\n\nA word from the kata.")


async def test_one_client_built_at_startup_is_reused_and_the_harnesss_own_is_not_counted():
    with HttpClientWatch(HERE).installed() as watch:
        async with serve(shared_client_app(), user_files=HERE) as harness:
            run = await harness.fire("GET", "/", n=3)
    run.expect_status(200)
    assert len(watch.built) == 1  # the lifespan's; the harness's client is not the app's
    watch.expect_reused(run)


def test_the_classes_are_put_back_afterwards():
    before = httpx.AsyncClient.__init__
    with HttpClientWatch(HERE).installed():
        assert httpx.AsyncClient.__init__ is not before
    assert httpx.AsyncClient.__init__ is before


async def test_a_client_built_in_a_worker_thread_is_told_apart_from_one_built_on_the_loop():
    app = FastAPI()

    @app.get("/sync")
    def in_a_thread():
        with httpx.Client():  # a `def` route: built in the threadpool's thread, not on the loop
            return {}

    @app.get("/async")
    async def on_the_loop():
        async with httpx.AsyncClient():
            return {}

    with HttpClientWatch(HERE).installed() as watch:
        async with serve(app, user_files=HERE, settings=NO_BLOCKS) as harness:
            (await harness.fire("GET", "/sync")).expect_status(200)
            (await harness.fire("GET", "/async")).expect_status(200)
    assert [(c.kind, c.on_loop) for c in watch.built] == [("httpx.Client", False), ("httpx.AsyncClient", True)]


async def test_each_client_built_keeps_the_most_connections_its_pool_may_open():
    own = httpx.MockTransport(lambda request: httpx.Response(200))
    with HttpClientWatch(HERE).installed() as watch:
        with httpx.Client(limits=httpx.Limits(max_connections=10)), httpx.Client(limits=httpx.Limits(max_connections=None)):
            pass
        async with httpx.AsyncClient(), httpx.AsyncClient(transport=own):
            pass
    # 100: httpx's default; None: a transport of the app's own, whose pool is not known
    assert [c.max_connections for c in watch.built if not c.no_limit] == [10, 100, None]
    assert [c.no_limit for c in watch.built] == [False, True, False, False]


def test_limits_given_beside_a_transport_are_noted_as_ignored():
    ten = httpx.Limits(max_connections=10)
    with HttpClientWatch(HERE).installed() as watch:
        with httpx.Client(limits=ten, transport=httpx.HTTPTransport()), httpx.Client(limits=ten), httpx.Client(transport=httpx.HTTPTransport()):
            pass
    assert [c.limits_ignored for c in watch.built] == [True, False, False]
    assert watch.built[0].max_connections == 100  # the transport's own pool, not the ten the client was given
