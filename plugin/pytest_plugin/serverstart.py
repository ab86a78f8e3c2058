"""After a kata's own tests, one more check: its app starts on a real uvicorn server, answers a
request and stops (see `engine.serverstart`). It runs only when the kata's tests ran whole."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.engine.serverstart import check_server_start
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.pytest_plugin.session import SESSION_KEY
from fastapi_async_katas.world.database import ENV_VAR as DATABASE_ENV_VAR
from fastapi_async_katas.world.database import Database
from fastapi_async_katas.world.storage import ENV_VAR as STORAGE_ENV_VAR
from fastapi_async_katas.world.upstream.catalog import CATALOG_ENV_VAR

NAME = "app starts on uvicorn"
SETTING = "katas_server_check"
SETTING_HELP = "after a kata's tests run whole, also start its app on a real uvicorn server (default: true)"
NOWHERE_URL = "http://127.0.0.1:9"
FIX_THE_TESTS_FIRST = "the kata's tests fail in this run: the real server is tried once they pass"


class ServerStartItem(pytest.Item):
    """Start the kata's app file on uvicorn on 127.0.0.1, send it one request, stop it."""

    def __init__(self, *, kata: Kata, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kata = kata

    def runtest(self) -> None:
        session = self.config.stash[SESSION_KEY]
        result = session.results.get(self.kata.folder)
        if result is not None and result.failed:
            pytest.skip(FIX_THE_TESTS_FIRST)
        app_path = session.app_path(self.kata)
        with _a_world_of_its_own():
            check_server_start(app_path, f"served_app_{self.kata.folder}", UserFiles.under([app_path.parent]))

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"{self.kata.folder}: the app starts on a real uvicorn server"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(SETTING, SETTING_HELP, type="bool", default=True)


@contextmanager
def _a_world_of_its_own() -> Iterator[None]:
    """A throwaway database and storage for the served app, where it looks for them, so that
    nothing it opens lands in the working folder."""
    with tempfile.TemporaryDirectory(prefix="katas-server-") as tmp, pytest.MonkeyPatch.context() as patch:
        database = Database(Path(tmp) / "shop.db")
        (Path(tmp) / "storage").mkdir()
        patch.setenv(DATABASE_ENV_VAR, str(database.path))
        patch.setenv(STORAGE_ENV_VAR, str(Path(tmp) / "storage"))
        # A loopback address where nothing listens: an app that calls the catalog at startup
        # is refused at once, with no name to look up.
        patch.setenv(CATALOG_ENV_VAR, NOWHERE_URL)
        yield


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """After the last test of each kata that runs whole (no `::test`, no -k or -m), add the check."""
    kata_session = config.stash.get(SESSION_KEY, None)
    if kata_session is None or not config.getini(SETTING) or config.getoption("keyword") or config.getoption("markexpr"):
        return
    partial = {kata.folder for arg in config.args if "::" in arg if (kata := kata_session.kata_for(kata_session.root / arg.split("::")[0]))}
    last: dict[str, int] = {}
    for index, item in enumerate(items):
        kata = kata_session.kata_for(item.path)
        if kata is not None and kata.folder not in partial and not isinstance(item, ServerStartItem):
            last[kata.folder] = index
    for folder, index in sorted(last.items(), key=lambda kv: -kv[1]):
        module = items[index].getparent(pytest.Module)
        kata = kata_session.kata_for(items[index].path)
        if module is not None and kata is not None:
            items.insert(index + 1, ServerStartItem.from_parent(module, name=NAME, kata=kata))
