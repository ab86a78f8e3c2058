"""What the threadpool ran for the user's code, and the context values it set there and lost.

FastAPI runs a `def` route or dependency in a worker thread (`anyio.to_thread.run_sync`), in a
copy of the request's context. A `ContextVar.set()` made there lands in that copy, which is
dropped when the function returns: the route never sees the value. While installed, the watch
notes each user function the threadpool runs, and each `ContextVar.set()` the user's code makes
inside it (seen through a profile function in the worker thread, for that call only).
"""

from __future__ import annotations

import contextvars
import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

import anyio.to_thread

from fastapi_async_katas.engine.explaining import plural
from fastapi_async_katas.engine.userfiles import Place, UserFiles

LOST_IN_A_COPY = [
    "      FastAPI runs a plain `def` dependency in its threadpool, in a copy of the request's",
    "      context. The copy is dropped when the dependency returns: the route never sees the value.",
]


@dataclass
class ThreadpoolCalls:
    """The user's functions the threadpool ran (once per call) and the `ContextVar.set()` lines in them."""

    user_files: UserFiles = field(default_factory=UserFiles)
    ran: list[Place] = field(default_factory=list)
    context_sets: list[Place] = field(default_factory=list)

    @contextmanager
    def installed(self) -> Iterator["ThreadpoolCalls"]:
        original = anyio.to_thread.run_sync
        watch = self

        async def noting_run_sync(func: Any, *args: Any, limiter: Any = None, **kwargs: Any) -> Any:
            code = _code_of(func)
            if code is not None and code.co_filename in watch.user_files:
                watch.ran.append(Place(code.co_filename, code.co_firstlineno, code.co_name))
                func = functools.partial(watch._noting_context_sets, func)
            return await original(func, *args, limiter=limiter, **kwargs)

        anyio.to_thread.run_sync = noting_run_sync  # type: ignore[assignment]
        try:
            yield self
        finally:
            anyio.to_thread.run_sync = original  # type: ignore[assignment]

    def explain_lost(self, calls_of: int) -> tuple[list[str], list[str]]:
        """What to add to a failure about a value the route never saw: the measured lines (each
        function run in the threadpool, `calls_of` calls in all) and the lines that show where
        the value was set and lost."""
        measured = [
            f"{place.function}() ran in a threadpool worker for {calls} of the {calls_of} requests, "
            f"borrowing {plural(calls, 'threadpool token')}"
            for place, calls in _counts(self.ran).items()
        ]
        extra: list[str] = []
        if self.context_sets:
            place = max(_counts(self.context_sets).items(), key=lambda kv: kv[1])[0]
            extra += ["The value was set in a worker thread:", f"  {place.short()} in {place.function}()", f"      {place.code}", *LOST_IN_A_COPY]
        return measured, extra

    def _noting_context_sets(self, func: Any, *args: Any) -> Any:
        """Run `func` in the worker thread, noting each `ContextVar.set()` the user's code calls."""

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "c_call" and isinstance(getattr(arg, "__self__", None), contextvars.ContextVar):
                if arg.__name__ == "set" and frame.f_code.co_filename in self.user_files:
                    self.context_sets.append(Place.of(frame))

        previous = sys.getprofile()
        sys.setprofile(profile)
        try:
            return func(*args)
        finally:
            sys.setprofile(previous)


def _code_of(func: Any) -> CodeType | None:
    while isinstance(func, functools.partial):
        func = func.func
    return getattr(getattr(func, "__func__", func), "__code__", None)


def _counts(places: list[Place]) -> dict[Place, int]:
    counts: dict[Place, int] = {}
    for place in places:
        counts[place] = counts.get(place, 0) + 1
    return counts
