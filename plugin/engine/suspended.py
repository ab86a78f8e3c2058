"""Where the app waits: a suspended task, at the lines of the user's files along its chain of
awaits; a thread, at its innermost line in them."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Collection
from types import CoroutineType, GeneratorType
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles

_MOST_LINKS = 200
# A thread whose stack runs an event loop is a loop's, whose waiting its tasks tell.
_RUN_FOREVER = asyncio.BaseEventLoop.run_forever.__code__


def awaiting_places(task: asyncio.Task[Any], user_files: UserFiles) -> list[Place]:
    """The user lines a suspended task is waiting at, outermost first, following its await chain."""
    places = []
    awaitable: Any = task.get_coro()
    for _ in range(_MOST_LINKS):
        # Most links are coroutines (a few generators): read straight, not looked up by name.
        kind = type(awaitable)
        if kind is CoroutineType:
            frame, following = awaitable.cr_frame, awaitable.cr_await
        elif kind is GeneratorType:
            frame, following = awaitable.gi_frame, awaitable.gi_yieldfrom
        elif awaitable is None:
            break
        else:
            frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
            following = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
        if frame is not None and frame.f_code.co_filename in user_files:
            places.append(Place.of(frame))
        awaitable = following
    return places


def thread_places(user_files: UserFiles, skip: Collection[int] = ()) -> list[Place]:
    """Where each other thread of this process stands in the user's files, at its innermost line
    there (a worker waiting for a lock stands at the `with`); leaving out the calling thread,
    those in `skip` (idents), threads running an event loop and threads outside the user's code."""
    me, places = threading.get_ident(), []
    for ident, frame in sys._current_frames().items():
        if ident == me or ident in skip:
            continue
        innermost: Any = None
        while frame is not None and frame.f_code is not _RUN_FOREVER:
            if innermost is None and frame.f_code.co_filename in user_files:
                innermost = frame
            frame = frame.f_back
        if frame is None and innermost is not None:
            places.append(Place.of(innermost))
    return places
