"""The kata world's parts as pytest fixtures, for a kata's tests and a project's own alike.

Blame inside them goes to the user's files: in a course, the folder of the app under test
(the course plugin says which, through `USER_FILES`); elsewhere, any file outside the standard
library, site-packages and this plugin.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from fastapi_async_katas.engine.contextwatch import ThreadpoolCalls
from fastapi_async_katas.engine.inathread import in_a_thread
from fastapi_async_katas.engine.loopstarts import LoopStarts
from fastapi_async_katas.engine.threadpool import ThreadpoolWatch
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.database import ENV_VAR as DATABASE_ENV_VAR
from fastapi_async_katas.world.database import Database
from fastapi_async_katas.world.httpclients import HttpClientWatch
from fastapi_async_katas.world.storage import ENV_VAR as STORAGE_ENV_VAR
from fastapi_async_katas.world.storage import SlowStorage
from fastapi_async_katas.world.upstream import HOST, Catalog, Upstream

# Set by the course plugin: the user's files for a test file (None: not a kata's).
USER_FILES = pytest.StashKey[Callable[[Path], "UserFiles | None"]]()
DATABASE_KEY = pytest.StashKey[Database]()


def user_files_for(request: pytest.FixtureRequest) -> UserFiles:
    """The files whose lines may be blamed in this test."""
    resolve = request.config.stash.get(USER_FILES, None)
    found = resolve(request.path) if resolve is not None else None
    return found if found is not None else UserFiles()


@pytest_asyncio.fixture
async def katas_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    """A seeded SQLite database where every query pays a network-like round trip.

    Its path is in the SHOP_DATABASE environment variable, where the app finds it.
    """
    files = user_files_for(request)
    database = Database(tmp_path / "shop.db", user_files=files)
    database.watch_app(asyncio.get_running_loop(), files, skip_files=[str(request.path)])
    monkeypatch.setenv(DATABASE_ENV_VAR, str(database.path))
    request.node.stash[DATABASE_KEY] = database
    with database.installed():
        yield database


@pytest_asyncio.fixture
async def katas_storage(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SlowStorage]:
    """A folder on slow storage: reading any file put there waits `katas_storage.latency_s` (0.3 s).

    Add files with `katas_storage.put("invoices/1001.json", text)`. The folder's path is in the
    SHOP_STORAGE environment variable, where the app finds it.
    """
    with SlowStorage(tmp_path / "storage") as slow:
        slow.watch_app(asyncio.get_running_loop(), user_files_for(request), skip_files=[str(request.path)])
        monkeypatch.setenv(STORAGE_ENV_VAR, str(slow.root))
        yield slow


@pytest_asyncio.fixture
async def katas_upstream(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[[Upstream], Upstream]]:
    """Start upstream services for this test: `katas_upstream(Upstream("payments", env_var="PAYMENTS_URL"))`.

    Each one's URL goes into its `env_var`, loopback is kept out of any proxy, and every
    service is stopped when the test ends.
    """
    loop = asyncio.get_running_loop()
    files = user_files_for(request)
    started: list[Upstream] = []
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), HOST, "localhost"]))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("no_proxy", no_proxy)

    def start(upstream: Upstream) -> Upstream:
        upstream.watch_app(loop, files, skip_files=[str(request.path)])
        started.append(upstream.start())
        if upstream.env_var:
            monkeypatch.setenv(upstream.env_var, upstream.url)
        return upstream

    start.started = started  # type: ignore[attr-defined]  # the parts a live server's loop is watched for
    try:
        yield start
    finally:
        for upstream in reversed(started):
            await in_a_thread(upstream.stop, "stopping an upstream")



@pytest_asyncio.fixture
async def katas_catalog(katas_upstream: Callable[[Upstream], Upstream]) -> Catalog:
    """The shop's catalogue service, running, its URL in CATALOG_URL; each answer takes 0.1 s."""
    service = Catalog()
    katas_upstream(service)
    return service


@pytest_asyncio.fixture
async def katas_threadpool(request: pytest.FixtureRequest) -> AsyncIterator[ThreadpoolWatch]:
    """Watch FastAPI's threadpool (anyio's default thread limiter) on the test's event loop.

    After the requests, `katas_threadpool.limit`, `katas_threadpool.peak_borrowed`, `katas_threadpool.borrows`
    and `katas_threadpool.waves()` say how many worker threads the app could use and how it used them.
    """
    watch = ThreadpoolWatch(user_files=user_files_for(request)).attach()
    try:
        yield watch
    finally:
        watch.detach()


@pytest.fixture
def katas_http_clients(request: pytest.FixtureRequest) -> Iterator[HttpClientWatch]:
    """Count the httpx clients the app builds during the test, where, and what each cost."""
    with HttpClientWatch(user_files_for(request)).installed() as watch:
        yield watch


@pytest.fixture
def katas_loop_starts(request: pytest.FixtureRequest) -> Iterator[LoopStarts]:
    """Record every event loop the app's code starts of its own during the test (`asyncio.run`, say)."""
    with LoopStarts(user_files_for(request)).installed() as watch:
        yield watch


@pytest.fixture
def katas_threadpool_calls(request: pytest.FixtureRequest) -> Iterator[ThreadpoolCalls]:
    """The app's functions FastAPI's threadpool runs during the test, and the context values they set there."""
    with ThreadpoolCalls(user_files_for(request)).installed() as watch:
        yield watch
