"""Load the app a kata is tested against: the learner's, the reference solution, or another copy.

The app is imported the way a server imports it: in a thread with no event loop running, before
any loop starts. Code that needs a running loop at import time (a task started, a loop fetched,
anyio's thread limiter touched at module level) fails here as it would under uvicorn, with its
own diagnosis: such set-up belongs in the app's lifespan.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from fastapi_async_katas.engine.exits import exits_refused
from fastapi_async_katas.engine.userfiles import display_path

APP_ATTRIBUTE = "app"
T = TypeVar("T")


IMPORT_TIMEOUT_S = 10.0
NEEDS_A_LOOP = (
    "{where}: this line needs a running event loop, but a server imports your app before it starts one."
    "{code}\n  ({kind}: {message})\n"
    "Do such set-up in the app's lifespan instead: it runs on the server's event loop, before the first request."
)
_NO_LOOP_TEXTS = ("no running event loop", "no current event loop", "not currently running on any asynchronous event loop")


class KataLoadError(Exception):
    """The app file could not be imported. The message names the file and line."""


def needs_a_loop(exc: BaseException) -> bool:
    """Whether `exc` says only that no event loop was running (asyncio's, anyio's, sniffio's words)."""
    return isinstance(exc, RuntimeError) and any(text in str(exc).lower() for text in _NO_LOOP_TEXTS)


def import_like_a_server(load: Callable[[], T], shown: str, timeout_s: float = IMPORT_TIMEOUT_S) -> T:
    """Run `load` in a fresh thread, where no event loop runs, as a server imports an app."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = load()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"importing {shown}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise KataLoadError(f"timed out: importing {shown} did not finish within {timeout_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def load_module(path: Path, module_name: str) -> ModuleType:
    """Import the file at `path` afresh under `module_name` (replacing any earlier import)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise KataLoadError(f"cannot import {display_path(str(path))}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        where = f"{display_path(exc.filename or str(path))}:{exc.lineno}"
        pointer = ""
        if exc.text:
            pointer = f"\n    {exc.text.rstrip()}\n    {' ' * max((exc.offset or 1) - 1, 0)}^"
        raise KataLoadError(f"{where}: SyntaxError: {exc.msg}{pointer}") from None
    except (Exception, SystemExit) as exc:
        sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
        where = f"{display_path(str(path))}:{frames[-1].lineno}" if frames else display_path(str(path))
        code = f"\n    {frames[-1].line}" if frames and frames[-1].line else ""
        if needs_a_loop(exc):
            raise KataLoadError(NEEDS_A_LOOP.format(where=where, code=code, kind=type(exc).__name__, message=exc)) from None
        raise KataLoadError(f"{where}: importing the app raised {type(exc).__name__}: {exc}{code}") from None
    return module


def load_app(path: Path, module_name: str, attribute: str = APP_ATTRIBUTE) -> Any:
    """Import the file as a server would (see `import_like_a_server`) and return its ASGI app object."""
    if not path.is_file():
        raise KataLoadError(f"{display_path(str(path))} does not exist")
    with exits_refused():
        module = import_like_a_server(lambda: load_module(path, module_name), display_path(str(path)))
    app = getattr(module, attribute, None)
    if app is None:
        raise KataLoadError(f"{display_path(str(path))} defines no `{attribute}`; the tests need the FastAPI app there")
    return app
