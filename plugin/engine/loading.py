"""Load the app a kata is tested against: the learner's, the reference solution, or another copy."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi_async_katas.engine.userfiles import display_path

APP_ATTRIBUTE = "app"


class KataLoadError(Exception):
    """The app file could not be imported. The message names the file and line."""


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
    except Exception as exc:
        sys.modules.pop(module_name, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
        where = f"{display_path(str(path))}:{frames[-1].lineno}" if frames else display_path(str(path))
        code = f"\n    {frames[-1].line}" if frames and frames[-1].line else ""
        raise KataLoadError(f"{where}: importing the app raised {type(exc).__name__}: {exc}{code}") from None
    return module


def load_app(path: Path, module_name: str, attribute: str = APP_ATTRIBUTE) -> Any:
    """Import the file and return its ASGI app object."""
    if not path.is_file():
        raise KataLoadError(f"{display_path(str(path))} does not exist")
    module = load_module(path, module_name)
    app = getattr(module, attribute, None)
    if app is None:
        raise KataLoadError(f"{display_path(str(path))} defines no `{attribute}`; the tests need the FastAPI app there")
    return app
