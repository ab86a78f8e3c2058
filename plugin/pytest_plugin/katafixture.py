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
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.pytest_plugin.session import RUNS_KEY, SESSION_KEY


@dataclass
class KataUnderTest:
    """The kata a test belongs to, and the app file it is tested against."""

    kata: Kata
    app_path: Path
    settings: Settings
    runs: list[Run] = field(default_factory=list)

    @property
    def user_files(self) -> UserFiles:
        return UserFiles.under([self.app_path.parent])

    def load(self) -> Any:
        return load_app(self.app_path, f"kata_app_{self.kata.folder}")

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


@pytest.fixture
def kata(request: pytest.FixtureRequest) -> KataUnderTest:
    """The kata this test file belongs to, loaded from the app file under test."""
    session = request.config.stash[SESSION_KEY]
    entry = session.kata_for(request.path)
    if entry is None:
        pytest.fail(f"the `kata` fixture only works in tests under katas/NN_slug/, not in {request.path}")
    under_test = KataUnderTest(entry, session.app_path(entry), session.settings)
    request.node.stash[RUNS_KEY] = under_test.runs
    return under_test


