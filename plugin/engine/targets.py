"""Load the app a user names: `package.module:attr`, or `path/to/file.py[:attr]`, as uvicorn would.

A bad target is a `TargetError` whose message says what is wrong and how to fix it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi_async_katas.engine.loading import NEEDS_A_LOOP, needs_a_loop
from fastapi_async_katas.engine.userfiles import UserFiles, display_path

APP_ATTRIBUTE = "app"


class TargetError(Exception):
    """TARGET names no app that can be loaded; the message says what is wrong and how to fix it."""


@dataclass
class Target:
    """The loaded app, and how to name it in the report."""

    app: Any
    label: str


def load_target(spec: str, cwd: str | None = None) -> Target:
    """Import the app that `spec` names: `package.module:attr`, or `path/to/file.py[:attr]`.

    A module is found from the working directory first, as uvicorn finds it. A file inside a
    package (folders with `__init__.py`) is imported as that package's module, so its
    relative imports work; a lone file is imported with its folder on `sys.path`, so its
    sibling modules can be imported.
    """
    where, attr = _split(spec)
    cwd = cwd or os.getcwd()
    if where.endswith(".py") or os.sep in where or "/" in where or Path(cwd, where).is_file():
        module, label = _import_file(Path(cwd, where), where)
    else:
        module, label = _import_module(where, cwd)
    app: Any = module
    for part in attr.split("."):
        app = getattr(app, part, None)
        if app is None:
            raise TargetError(f"{label} has no attribute {attr!r}{_suggestion(module, label)}")
    if not _looks_like_app(app):
        hint = ""
        if inspect.isfunction(app) and not _required_parameters(app):
            hint = f"; if it builds the app, add `app = {attr}()` to the module and probe {label}:app"
        raise TargetError(f"{label}:{attr} is a {type(app).__name__}, not an ASGI app (a FastAPI() instance, say){hint}")
    return Target(app, f"{label}:{attr}")


def _required_parameters(function: Any) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values() if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _suggestion(module: Any, label: str) -> str:
    """Where the app might be instead: another attribute, or a module of this package."""
    found = [name for name, value in vars(module).items() if _surely_an_app(value)]
    if found:
        return f"; it has {', '.join(repr(n) for n in found)}: try {label}:{found[0]}"
    folders = getattr(module, "__path__", None)
    if folders:
        modules = sorted(
            f"{module.__name__}.{p.stem}:app"
            for folder in folders
            for p in Path(folder).glob("*.py")
            if "FastAPI(" in p.read_text(errors="replace") or "Starlette(" in p.read_text(errors="replace")
        )
        if modules:
            return f"; it is a package: name the module that makes the app, such as {modules[0]}"
    return ""


def _split(spec: str) -> tuple[str, str]:
    where, sep, attr = spec.rpartition(":")
    if not sep or not attr or not all(p.isidentifier() for p in attr.split(".")) or not where:
        return spec, APP_ATTRIBUTE
    return where, attr


def _import_file(path: Path, shown: str) -> tuple[Any, str]:
    if path.is_dir():
        raise TargetError(f"{shown} is a folder: give the .py file that defines the app, or package.module:app")
    if not path.is_file():
        raise TargetError(f"{shown}: no such file")
    if path.suffix != ".py":
        raise TargetError(f"{shown} is not a Python file (.py)")
    path = path.resolve()
    folder, parts = path.parent, [path.stem]
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    name = ".".join(parts)
    if parts[0] in sys.stdlib_module_names:
        # A file called sqlite3.py must not stand in for the real sqlite3 when the app imports it.
        sys.path.append(str(folder))
    else:
        sys.path.insert(0, str(folder))
    if len(parts) > 1:
        return _import(name, path), shown
    if name in sys.modules or name in sys.stdlib_module_names:
        name = f"_probed_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {shown}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise TargetError(_import_failure(shown, exc)) from None
    return module, shown


def _import_module(name: str, cwd: str) -> tuple[Any, str]:
    if not all(p.isidentifier() for p in name.split(".")):
        raise TargetError(f"{name!r} is neither a .py file nor a module name like package.module")
    sys.path.insert(0, cwd)
    return _import(name, None), name


def _import(name: str, path: Path | None) -> Any:
    shown = str(path) if path else name
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise TargetError(f"no module named {exc.name!r} (looked in {sys.path[0]} and sys.path)") from None
        raise TargetError(_import_failure(shown, exc)) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: an app that exits on import is a bad target
        raise TargetError(_import_failure(shown, exc)) from None


def _import_failure(shown: str, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        where = f"{display_path(exc.filename or shown)}:{exc.lineno}"
        return f"{where}: SyntaxError: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in UserFiles()]
    if needs_a_loop(exc) and frames:
        code = f"\n    {frames[-1].line}" if frames[-1].line else ""
        place = f"{display_path(frames[-1].filename)}:{frames[-1].lineno}"
        return NEEDS_A_LOOP.format(where=place, code=code, kind=type(exc).__name__, message=exc)
    where = f" at {display_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f"importing {shown} raised {type(exc).__name__}: {exc}{where}"


def _looks_like_app(value: Any) -> bool:
    """Callable with (scope, receive, send): an ASGI app or middleware instance, or an ASGI function."""
    if not callable(value) or isinstance(value, (type, ModuleType)):
        return False
    call = value if inspect.isfunction(value) or inspect.ismethod(value) else type(value).__call__
    try:
        params = inspect.signature(call).parameters
    except (TypeError, ValueError):
        return True
    positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    if call is not value and positional and positional[0].name == "self":
        positional = positional[1:]
    return len(positional) >= 3 or any(p.kind is p.VAR_POSITIONAL for p in positional)


def _surely_an_app(value: Any) -> bool:
    """Stricter than `_looks_like_app`, for suggestions: an app or middleware instance (not a
    router), or a function whose parameters are named as ASGI names them (a dependency that
    takes three parameters is not suggested)."""
    if not _looks_like_app(value):
        return False
    if not (inspect.isfunction(value) or inspect.ismethod(value)):
        # A router (FastAPI's `APIRouter`) is callable as ASGI but is not an app to serve.
        return not (hasattr(value, "routes") and not hasattr(value, "user_middleware"))
    names = list(inspect.signature(value).parameters)[:3]
    return names == ["scope", "receive", "send"]
