"""`katas probe NN`: a kata's app, probed with its world running, as its tests run it.

The world (a seeded database, an empty slow storage, the catalogue service) lives in a temporary
folder and on 127.0.0.1, and its addresses are in the environment while the probe runs; nothing
is left in the working folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi_async_katas.course.listing import Kata, find_course_root, find_kata, kata_of_path, load_course
from fastapi_async_katas.world.database import ENV_VAR as DATABASE_ENV_VAR
from fastapi_async_katas.world.database import Database
from fastapi_async_katas.world.storage import ENV_VAR as STORAGE_ENV_VAR
from fastapi_async_katas.world.storage import SlowStorage
from fastapi_async_katas.world.upstream import CATALOG_ENV_VAR, HOST, Catalog

NEEDS_ITS_WORLD = (
    "note: {app} is kata {number}'s app, and it looks for its world (a database, storage, the catalogue) "
    "in the environment, where there is none. Probe it with its world: katas probe {number} {method} {path}"
)


def kata_named(target: str) -> tuple[Path, Kata] | None:
    """The course and kata a target like `01` or `01_blocking_db` names, when run in a course."""
    root = find_course_root(Path.cwd())
    if root is None or "/" in target or target.endswith(".py") or ":" in target:
        return None
    kata = find_kata(load_course(root), target)
    return (root, kata) if kata is not None else None


def worldless_kata(target: str) -> Kata | None:
    """The kata whose app a file target is, when the kata's world is not in the environment."""
    root = find_course_root(Path.cwd())
    path = Path(target.split(":")[0])
    if root is None or not path.is_file() or DATABASE_ENV_VAR in os.environ:
        return None
    return kata_of_path(load_course(root), root, path.resolve())


@contextlib.contextmanager
def kata_world() -> Iterator[None]:
    """The kata world, running, its addresses in the environment; all gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="katas-probe-") as tmp, contextlib.ExitStack() as stack:
        database = Database(Path(tmp) / "shop.db")
        stack.enter_context(database.installed())
        storage = stack.enter_context(SlowStorage(Path(tmp) / "storage"))
        catalog = Catalog().start()
        stack.callback(catalog.stop)
        env = {DATABASE_ENV_VAR: str(database.path), STORAGE_ENV_VAR: str(storage.root), CATALOG_ENV_VAR: catalog.url,
               "NO_PROXY": HOST, "no_proxy": HOST}
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
