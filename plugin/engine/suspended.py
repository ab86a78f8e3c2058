"""Where a suspended task waits: the lines of the user's files along its chain of awaits."""

from __future__ import annotations

import asyncio
from types import CoroutineType, GeneratorType
from typing import Any

from fastapi_async_katas.engine.userfiles import Place, UserFiles

_MOST_LINKS = 200


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
