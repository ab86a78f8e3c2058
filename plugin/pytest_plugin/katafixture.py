"""The `kata` fixture: the kata a test file belongs to, served from the app file under test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.engine.firing import Harness, Settings, serve
from fastapi_async_katas.engine.judging import KataFailure, Run
from fastapi_async_katas.engine.leftovers import left_running, left_running_text
from fastapi_async_katas.engine.live import LiveServer, serve_live
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.loopback import STOP_GRACE_S
from fastapi_async_katas.engine.userfiles import UserFiles, display_path
from fastapi_async_katas.pytest_plugin.session import RUNS_KEY, SESSION_KEY
from fastapi_async_katas.world.database import Database

LESSER_FIX = "passed_but"
LEFT_RUNNING_KEY = pytest.StashKey[list[threading.Thread]]()


@dataclass
class KataUnderTest:
    """The kata a test belongs to, and the app file it is tested against."""

    kata: Kata
    app_path: Path
    settings: Settings
    runs: list[Run] = field(default_factory=list)
    item: pytest.Item | None = None

    @property
    def user_files(self) -> UserFiles:
        return UserFiles.under([self.app_path.parent])

    def load(self) -> Any:
        return load_app(self.app_path, f"kata_app_{self.kata.folder}")

    def passed_but(self, why: str, better: str) -> None:
        """Say, once the test has passed, that the fix is the lesser one: `why`, and the `better` one.

        The kata stays solved; the course summary shows the two lines under it.
        """
        if self.item is not None:
            self.item.user_properties.append((LESSER_FIX, (why, better)))

    @asynccontextmanager
    async def serve(self, *, timeout_s: float | None = None) -> AsyncIterator[Harness]:
        """Import the app afresh, start it (lifespan included) and yield a harness to fire at.

        `timeout_s` shortens how long a request may take before it counts as hung, for a test
        whose fixed app answers far sooner (3x or more); `--kata-timeout` still wins."""
        app = self.load()
        self._hurry_the_world(False)
        before = set(threading.enumerate())
        async with serve(app, user_files=self.user_files, settings=self._settings(timeout_s)) as harness:
            try:
                yield harness
            finally:
                # Every burst measured, kept so the report can show what each test measured.
                self.runs.extend(harness.runs)
                self._hurry_the_world(True)
        await self._nothing_left_running(before)

    def _settings(self, timeout_s: float | None) -> Settings:
        if timeout_s is None or self.settings.request_timeout_s != Settings.request_timeout_s:
            return self.settings  # the test's own, or the one the learner chose
        return replace(self.settings, request_timeout_s=timeout_s)

    def _world_parts(self) -> list[Any]:
        """The world's parts this test uses: its fixtures', and the upstreams it started."""
        values = list(self.item.funcargs.values()) if isinstance(self.item, pytest.Function) else []
        started = [part for value in values for part in getattr(value, "started", [])]
        return [part for part in values + started if hasattr(part, "watch_app")]

    def _watch_the_app_on(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Note where the app waits for each query, call or read on the loop the app runs on."""
        if loop is None:
            return
        for part in self._world_parts():
            part.watch_app(loop, self.user_files, skip_files=[str(self.item.path)] if self.item is not None else [])

    def _hurry_the_world(self, hurried: bool) -> None:
        """What was measured is over once the test leaves `serve()`: the world's parts answer at
        once, so work the app queued up (a hundred queries behind one connection) does not hold
        its shutdown for seconds."""
        for value in (self.item.funcargs.values() if isinstance(self.item, pytest.Function) else ()):
            if isinstance(value, Database):
                value.hurry(hurried)


    @asynccontextmanager
    async def serve_live(self, *, stop_grace_s: float = STOP_GRACE_S) -> AsyncIterator[LiveServer]:
        """Import the app afresh and serve it on a real uvicorn server on 127.0.0.1 (lifespan
        on): for what only real HTTP shows (first bytes, a stream's chunks, work after the answer).
        When it stops, the requests in progress get `stop_grace_s` to finish."""
        app = self.load()
        self._hurry_the_world(False)
        before = set(threading.enumerate())
        async with serve_live(app, user_files=self.user_files, settings=self.settings, name=display_path(str(self.app_path)),
                              stop_grace_s=stop_grace_s) as live:
            self._watch_the_app_on(live.loop)
            try:
                yield live
            finally:
                self.runs.extend(live.runs)
                self._hurry_the_world(True)
                self._watch_the_app_on(asyncio.get_running_loop())
        await self._nothing_left_running(before)

    async def _nothing_left_running(self, before: set[threading.Thread]) -> None:
        """Note the threads the app left running once it shut down; the test fails on them once
        it has passed its own checks (see `pytest_runtest_call`)."""
        left = await left_running(before)
        if left and self.item is not None:
            self.item.stash.setdefault(LEFT_RUNNING_KEY, []).extend(left)


@pytest.fixture
def kata(request: pytest.FixtureRequest) -> KataUnderTest:
    """The kata this test file belongs to, loaded from the app file under test."""
    session = request.config.stash[SESSION_KEY]
    entry = session.kata_for(request.path)
    if entry is None:
        pytest.fail(f"the `kata` fixture only works in tests under katas/NN_slug/, not in {request.path}")
    under_test = KataUnderTest(entry, session.app_path(entry), session.settings, item=request.node)
    request.node.stash[RUNS_KEY] = under_test.runs
    return under_test




# -- the default every kata test keeps ---------------------------------------------------------

LOOP_MAY_BLOCK = "loop_may_block"
LOOP_MAY_BLOCK_HELP = (
    f"{LOOP_MAY_BLOCK}(reason): this kata test does not check that the app's code left the event loop free; "
    "the reason says why"
)
EVERY_TEST_CHECKS = (
    "Every kata test that fires requests checks this, whatever else it is about: no step of the event loop "
    "may be held up by your code while it serves them."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", LOOP_MAY_BLOCK_HELP)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Once a kata test has passed its own checks: its requests never blocked the event loop,
    unless the test waives that with `@pytest.mark.loop_may_block(reason=...)`."""
    result = yield
    left = item.stash.get(LEFT_RUNNING_KEY, [])
    if left:
        raise KataFailure(left_running_text(left))
    runs = item.stash.get(RUNS_KEY, None)
    if not runs or _waived(item):
        return result
    blocked = [run for run in runs if run.blocks]
    if blocked:
        worst = max(blocked, key=lambda run: max(b.wall_ms for b in run.blocks))
        worst.expect_no_blocks(extra=[EVERY_TEST_CHECKS])
    return result


def _waived(item: pytest.Item) -> bool:
    marker = item.get_closest_marker(LOOP_MAY_BLOCK)
    if marker is None:
        return False
    reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
    if not str(reason).strip():
        pytest.fail(f"@pytest.mark.{LOOP_MAY_BLOCK} needs a reason: say why this test may let the loop be blocked", pytrace=False)
    return True
