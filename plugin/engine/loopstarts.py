"""Event loops the app starts of its own (`asyncio.run`, `new_event_loop`), and where.

An app that starts a loop per request pays for a whole loop each time, and runs the awaited
work on a thread of its own: it works, but it is not how an async app waits.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles


@dataclass(frozen=True)
class LoopStarted:
    """One event loop the user's code created: where, and when."""

    place: Place
    started: float


@dataclass
class LoopStarts:
    """Record every event loop the user's code creates while installed."""

    user_files: UserFiles = field(default_factory=UserFiles)
    started: list[LoopStarted] = field(default_factory=list)

    @contextmanager
    def installed(self) -> Iterator["LoopStarts"]:
        policy_class = asyncio.DefaultEventLoopPolicy
        original = policy_class.new_event_loop
        watch = self

        def new_event_loop(policy: Any) -> asyncio.AbstractEventLoop:
            frame = watch.user_files.innermost(sys._getframe(1))
            if frame is not None:
                watch.started.append(LoopStarted(Place.of(frame), time.perf_counter()))
            return original(policy)

        policy_class.new_event_loop = new_event_loop  # type: ignore[method-assign]
        try:
            yield self
        finally:
            policy_class.new_event_loop = original  # type: ignore[method-assign]

    def started_between(self, start: float, end: float) -> list[LoopStarted]:
        return [s for s in self.started if start <= s.started <= end]
