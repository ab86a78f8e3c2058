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
from types import ModuleType
from typing import Any

import pytest

from fastapi_async_katas.course.grading import TAMPERED
from fastapi_async_katas.engine.judging import KataFailure
from fastapi_async_katas.pytest_plugin.session import SESSION_KEY

PACKAGE = "fastapi_async_katas"
_MARKS = pytest.StashKey["Marks"]()
# Where a mark was found: a namespace (a module's or a class's), and a name in it.
_Spot = tuple[dict[str, Any], str]


class Marks:
    """An identity for every function, class, method, code object and hook of this package.

    Noted once, the spots they were found at are kept: the check after each test looks in each
    spot again instead of walking every module of the process.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.found: dict[str, int] = {}
        self._spots: dict[str, _Spot] = {}
        self._modules: dict[str, ModuleType] = {}
        for name, module in list(sys.modules.items()):
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            self._modules[name] = module
            namespace = vars(module)
            for attr, value in list(namespace.items()):
                if getattr(value, "__module__", None) != name:
                    continue
                self._mark(f"{name}.{attr}", (namespace, attr), value)
                if isinstance(value, type):
                    members = vars(value)
                    for member, inner in list(members.items()):
                        self._mark(f"{name}.{attr}.{member}", (members, member), inner)  # type: ignore[arg-type]
        self.found.update(_hooks(config))

    def _mark(self, key: str, spot: _Spot, value: Any) -> None:
        function = getattr(value, "__func__", value)
        if callable(function) or isinstance(value, (property, staticmethod, classmethod)):
            self.found[key] = id(value)
            self._spots[key] = spot
            code = getattr(function, "__code__", None)
            if code is not None:
                self.found[f"{key}.__code__"] = id(code)

    def changes(self, config: pytest.Config) -> list[str]:
        """What no longer is as it was noted."""
        changed = [name for name, module in self._modules.items() if sys.modules.get(name) is not module]
        for key, (namespace, attr) in self._spots.items():
            value = namespace.get(attr)
            if id(value) != self.found[key]:
                changed.append(key)
                continue
            code = f"{key}.__code__"
            if code in self.found and id(getattr(getattr(value, "__func__", value), "__code__", None)) != self.found[code]:
                changed.append(code)
        now = _hooks(config)
        changed += [key for key, ident in self.found.items() if key.startswith("hook ") and now.get(key) != ident]
        return sorted(changed)


def _hooks(config: pytest.Config) -> dict[str, int]:
    found = {}
    for hook in config.pluginmanager.hook.__dict__.values():
        for impl in getattr(hook, "get_hookimpls", lambda: [])():
            if getattr(impl.function, "__module__", "").startswith(PACKAGE):
                found[f"hook {hook.name} of {impl.plugin_name}"] = id(impl.function)
    return found


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.stash.get(SESSION_KEY, None) is not None:
        session.config.stash[_MARKS] = Marks(session.config)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[Any]:
    result = yield
    before = item.config.stash.get(_MARKS, None)
    session = item.config.stash.get(SESSION_KEY, None)
    if before is not None and session is not None and session.kata_for(item.path) is not None:
        changed = before.changes(item.config)
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            raise KataFailure(f"{TAMPERED}: {shown} replaced while the test ran.")
    return result
