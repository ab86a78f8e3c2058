"""The app under test must not change the grader: replacing a judging function, a fixture or one
of the plugin's hooks from an app's code fails the test with "the app changed the grader".

At the start of the session every function and class of this package, each method of its
classes, each code object, and each hook of its plugins are noted; after each kata test they
are compared. This catches an app that patches the plugin; an app that sets out to hide its
tracks can still do so, since its code runs in this very process (see the README on grading).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from fastapi_async_katas.course.grading import TAMPERED
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.pytest_plugin.session import SESSION_KEY

PACKAGE = "fastapi_async_katas"
_MARKS = pytest.StashKey[dict[str, int]]()


def marks(config: pytest.Config) -> dict[str, int]:
    """An identity for every function, class, method, code object and hook of this package."""
    found: dict[str, int] = {}
    for name, module in list(sys.modules.items()):
        if name != PACKAGE and not name.startswith(PACKAGE + "."):
            continue
        found[name] = id(module)
        for attr, value in list(vars(module).items()):
            if getattr(value, "__module__", None) != name:
                continue
            _mark(found, f"{name}.{attr}", value)
            if isinstance(value, type):
                for member, inner in list(vars(value).items()):
                    _mark(found, f"{name}.{attr}.{member}", inner)
    for hook in config.pluginmanager.hook.__dict__.values():
        for impl in getattr(hook, "get_hookimpls", lambda: [])():
            if getattr(impl.function, "__module__", "").startswith(PACKAGE):
                found[f"hook {hook.name} of {impl.plugin_name}"] = id(impl.function)
    return found


def _mark(found: dict[str, int], key: str, value: Any) -> None:
    function = getattr(value, "__func__", value)
    if callable(function) or isinstance(value, (property, staticmethod, classmethod)):
        found[key] = id(value)
        code = getattr(function, "__code__", None)
        if code is not None:
            found[f"{key}.__code__"] = id(code)


def changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(key for key, ident in before.items() if after.get(key) != ident)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.stash.get(SESSION_KEY, None) is not None:
        session.config.stash[_MARKS] = marks(session.config)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[Any]:
    result = yield
    before = item.config.stash.get(_MARKS, None)
    session = item.config.stash.get(SESSION_KEY, None)
    if before is not None and session is not None and session.kata_for(item.path) is not None:
        changed = changes(before, marks(item.config))
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            raise KataFailure(f"{TAMPERED}: {shown} replaced while the test ran.")
    return result
