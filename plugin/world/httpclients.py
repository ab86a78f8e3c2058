"""The HTTP clients an app builds: how many, at which line of the app, and what each cost.

Building an `httpx` client is not free: its SSL context alone costs tens of milliseconds of CPU,
and a client built per request also opens a fresh connection per request. The watch counts the
clients built by the user's code (a client built outside the user's files, by the harness say,
is not the app's), with the CPU time each construction took.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import httpx

from fastapi_async_katas.engine.explaining import place_lines
from fastapi_async_katas.engine.userfiles import Place, UserFiles, is_plugin_file


def _builder(frame: FrameType | None, user_files: UserFiles) -> FrameType | None:
    """The user's frame that built the client, unless this plugin built it (the harness's own)."""
    while frame is not None:
        if is_plugin_file(frame.f_code.co_filename):
            return None
        if frame.f_code.co_filename in user_files:
            return frame
        frame = frame.f_back
    return None


@dataclass(frozen=True)
class ClientBuilt:
    """One client the app built: its class, where, when, the CPU time it took, and whether it was
    built on an event loop's thread (not in a worker thread)."""

    kind: str
    place: Place
    built: float
    cpu_ms: float
    on_loop: bool = True
    # The most connections its pool may open, as httpx's own pool says; None where its transport
    # is not httpx's own, which may pool its connections as it likes.
    max_connections: int | None = None
    # Given both `limits=` and a `transport=`: httpx ignores the limits then (the transport's own apply).
    limits_ignored: bool = False

    @property
    def no_limit(self) -> bool:
        """Whether its pool may open any number of connections (`max_connections=None`)."""
        return self.max_connections == sys.maxsize  # what httpx's pool holds for no limit


@dataclass
class HttpClientWatch:
    """Count the `httpx.Client` and `httpx.AsyncClient` objects the user's code builds while installed."""

    user_files: UserFiles = field(default_factory=UserFiles)
    built: list[ClientBuilt] = field(default_factory=list)

    @contextmanager
    def installed(self) -> Iterator["HttpClientWatch"]:
        originals = {cls: cls.__init__ for cls in (httpx.Client, httpx.AsyncClient)}
        for cls, original in originals.items():
            cls.__init__ = self._counting(cls.__name__, original)  # type: ignore[method-assign]
        try:
            yield self
        finally:
            for cls, original in originals.items():
                cls.__init__ = original  # type: ignore[method-assign]

    def _counting(self, name: str, original: Any) -> Any:
        watch = self

        def __init__(client: Any, *args: Any, **kwargs: Any) -> None:
            cpu0 = time.thread_time()
            original(client, *args, **kwargs)
            frame = _builder(sys._getframe(1), watch.user_files)
            if frame is not None:
                cpu_ms = (time.thread_time() - cpu0) * 1000
                on_loop = asyncio._get_running_loop() is not None
                most = getattr(getattr(getattr(client, "_transport", None), "_pool", None), "_max_connections", None)
                most = most if isinstance(most, int) else None
                ignored = kwargs.get("limits") is not None and kwargs.get("transport") is not None
                watch.built.append(ClientBuilt(f"httpx.{name}", Place.of(frame), time.perf_counter(), cpu_ms, on_loop, most, ignored))

        return __init__

    def built_between(self, start: float, end: float) -> list[ClientBuilt]:
        return [c for c in self.built if start <= c.built <= end]

    def expect_reused(self, run: Any, *, at_most: int = 1, extra: list[str] | None = None) -> None:
        """While `run` lasted, the app built at most this many HTTP clients: it reuses one."""
        __tracebackhide__ = True
        built = self.built_between(run.began, run.ended)
        if len(built) <= at_most:
            return
        costs = sorted(c.cpu_ms for c in built)
        where = built[0].place
        run.fail(
            f"The app built {len(built)} HTTP clients for {len(run.requests)} requests.",
            measured=[f"{len(built)} {built[0].kind} objects built while the requests ran, "
                      f"each costing about {costs[len(costs) // 2]:.0f} ms of CPU (mostly its SSL context)"],
            expected=[f"at most {at_most}: one client, built when the app starts (in its lifespan) and shared by every request"],
            extra=["Built here, once per request:", *place_lines(where), *([""] + extra if extra else [])],
            show_timeline=False,
        )
