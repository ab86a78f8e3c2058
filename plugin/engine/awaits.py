"""Catch coroutines that were created and never awaited, with the line that created them.

Python warns "coroutine 'f' was never awaited" when such a coroutine is garbage collected.
With coroutine origin tracking on, the coroutine itself (passed to the warning as its
`source`) knows the frames that created it. Tracking costs every coroutine the app creates,
on every request, so it is off until the first such warning: `notice()` (called as each
request ends) turns it on. A coroutine created before that is placed by reading the source: the
one call of the coroutine's function, in the user's files, that is not awaited where it is made
(`notify(order)`, `pending = notify(order)`, `asyncio.run(notify(order))`), looked for first in
the function where the coroutine was let go. When more than one call could have, none is named.

Only objects created while the catcher is active can be such coroutines, so everything older
is frozen (`gc.freeze()`) on entry: each collection then walks the run's own objects, not every
module and object the process has, which made a full collection cost tens of milliseconds.
"""

from __future__ import annotations

import ast
import gc
import os
import sys
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles

_ORIGIN_DEPTH = 32
_NEVER_AWAITED = "was never awaited"
# Set by `keep_frozen()`: this process froze its objects for good.
_kept_frozen = False


def keep_frozen() -> None:
    """Say that this process froze its objects (`gc.freeze()`) to keep them frozen to its end.

    A catcher then leaves them frozen on exit without counting them first: `gc.get_freeze_count()`
    walks every frozen object, tens of milliseconds in a process that froze a whole test run.
    """
    global _kept_frozen
    _kept_frozen = True


@dataclass(frozen=True)
class Unawaited:
    """A coroutine that was never awaited."""

    name: str
    created_at: Place | None

    def as_dict(self) -> dict[str, Any]:
        place = self.created_at
        return {
            "coroutine": self.name,
            "file": place.file if place else None,
            "line": place.line if place else None,
            "code": place.code if place else None,
        }


class UnawaitedCatcher:
    """Record never-awaited coroutines while active. Use it as a context manager."""

    def __init__(self, user_files: UserFiles | None = None) -> None:
        self.user_files = user_files or UserFiles()
        self.found: list[Unawaited] = []
        self._records: list[warnings.WarningMessage] = []
        self._catch: warnings.catch_warnings | None = None  # type: ignore[type-arg]
        self._old_depth = 0
        self._seen = 0
        self._unfreeze = False

    def __enter__(self) -> "UnawaitedCatcher":
        self._old_depth = sys.get_coroutine_origin_tracking_depth()
        self._catch = warnings.catch_warnings(record=True)
        self._records = self._catch.__enter__()
        warnings.filterwarnings("always", message="coroutine .* was never awaited")
        # A process that froze objects itself keeps them frozen: unfreezing is all or nothing.
        self._unfreeze = not _kept_frozen and gc.get_freeze_count() == 0
        gc.freeze()
        return self

    def __exit__(self, *exc: object) -> None:
        self.collect()
        assert self._catch is not None
        self._catch.__exit__(*exc)
        sys.set_coroutine_origin_tracking_depth(self._old_depth)
        if self._unfreeze:
            gc.unfreeze()
        self._replay_others()

    def notice(self) -> None:
        """Cheap, after each request: once a coroutine went un-awaited, track where coroutines
        are created from now on, so that the next ones are placed by their origin."""
        if len(self._records) == self._seen:
            return
        self._seen = len(self._records)
        if any(_NEVER_AWAITED in str(r.message) for r in self._records):
            sys.set_coroutine_origin_tracking_depth(max(self._old_depth, _ORIGIN_DEPTH))

    def settle(self) -> None:
        """Collect now, then freeze what is left, so later collections skip it (after startup, say)."""
        self.collect()
        gc.freeze()

    def collect(self) -> list[Unawaited]:
        """Run the garbage collector, then turn the warnings so far into `Unawaited` records."""
        gc.collect()
        kept = []
        for record in self._records:
            if _NEVER_AWAITED in str(record.message):
                self.found.append(self._describe(record))
            else:
                kept.append(record)
        self._records[:] = kept
        self._seen = len(kept)
        return self.found

    def _replay_others(self) -> None:
        """Re-issue warnings that were not about un-awaited coroutines, so none are lost."""
        for record in self._records:
            warnings.warn_explicit(record.message, record.category, record.filename, record.lineno)

    def _describe(self, record: warnings.WarningMessage) -> Unawaited:
        coro = record.source
        name = getattr(coro, "__qualname__", None) or str(record.message).split("'")[1]
        origin = getattr(coro, "cr_origin", None) or ()
        place = None
        for filename, lineno, function in origin:  # innermost first
            if filename in self.user_files:
                place = Place(filename, lineno, function)
                break
        code = getattr(coro, "cr_code", None)
        if place is None and not origin and code is not None and code.co_filename in self.user_files:
            place = _dropping_call(code, name, (record.filename, record.lineno), self.user_files)
        return Unawaited(name, place)


def _dropping_call(code: Any, name: str, dropped_at: tuple[str, int], user_files: UserFiles) -> Place | None:
    """Where a coroutine of `code` made before origins were tracked was created: the one call
    of it that is not awaited where it is made, found by reading the source.

    The warning is raised where the coroutine was let go, so the statement is looked for in the
    function of that line first; then in the function that defines it (for one defined inside
    another), the file that defines it, and its folder. The first place with exactly one such
    statement names it; more than one names none.
    """
    within = name.rpartition(".<locals>.")[0].rpartition(".<locals>.")[2] or None
    folder = os.path.dirname(code.co_filename)
    files = [os.path.join(folder, e) for e in sorted(os.listdir(folder)) if e.endswith(".py")]
    calls = [(path, *found) for path in files if path in user_files for found in _statements_calling(path, os.path.getmtime(path), code.co_name)]
    file, line = dropped_at
    scopes = [
        [c for c in calls if c[0] == file and c[3][0] <= line <= c[3][1]],  # in the function that let it go
        [c for c in calls if within is not None and within in c[2]],
        [c for c in calls if c[0] == code.co_filename],
        calls,
    ]
    for scope in scopes:
        if scope:
            return Place(scope[0][0], scope[0][1], scope[0][2][-1]) if len(scope) == 1 else None
    return None


@lru_cache(maxsize=256)
def _statements_calling(path: str, mtime: float, name: str) -> tuple[tuple[int, tuple[str, ...], tuple[int, int]], ...]:
    """(line, enclosing functions outermost first, the innermost one's first and last line) of
    each call `name(...)` inside a function of the file that is not awaited right there."""
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return ()
    found: list[tuple[int, tuple[str, ...], tuple[int, int]]] = []

    def visit(node: ast.AST, functions: tuple[str, ...], span: tuple[int, int], awaited: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions, span = functions + (node.name,), (node.lineno, node.end_lineno or node.lineno)
        if functions and not awaited and isinstance(node, ast.Call) and _called_name(node.func) == name:
            found.append((node.lineno, functions, span))
        for child in ast.iter_child_nodes(node):
            visit(child, functions, span, isinstance(node, ast.Await))

    visit(tree, (), (0, 0), False)
    return tuple(found)


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None
