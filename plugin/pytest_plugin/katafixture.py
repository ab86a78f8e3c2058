"""The `kata` fixture: the kata a test file belongs to, served from the app file under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.engine.firing import Harness, Settings, serve
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.live import LiveServer, serve_live
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.userfiles import UserFiles, display_path
from fastapi_async_katas.pytest_plugin.session import RUNS_KEY, SESSION_KEY

LESSER_FIX = "passed_but"


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
    async def serve(self) -> AsyncIterator[Harness]:
        """Import the app afresh, start it (lifespan included) and yield a harness to fire at."""
        app = self.load()
        async with serve(app, user_files=self.user_files, settings=self.settings) as harness:
            try:
                yield harness
            finally:
                # Every burst measured, kept so the report can show what each test measured.
                self.runs.extend(harness.runs)


    @asynccontextmanager
    async def serve_live(self) -> AsyncIterator[LiveServer]:
        """Import the app afresh and serve it on a real uvicorn server on 127.0.0.1 (lifespan
        on): for what only real HTTP shows (first bytes, a stream's chunks, work after the answer)."""
        app = self.load()
        async with serve_live(app, user_files=self.user_files, settings=self.settings, name=display_path(str(self.app_path))) as live:
            try:
                yield live
            finally:
                self.runs.extend(live.runs)


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
