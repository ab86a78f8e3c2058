"""Where a request is served, inside the app: its routes, behind every middleware.

A middleware may take requests in faster than the routes serve them (Starlette's
`BaseHTTPMiddleware` runs each route in a task of its own), so the harness counts requests in
flight where the router has them, and looks for a hung request's wait in every task that works
for it, not only in the one the middleware waits in.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from typing import Any

from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.suspended import awaiting_places
from fastapi_async_katas.engine.userfiles import Place, UserFiles


def record_routing(app: Any, current: contextvars.ContextVar[RequestRecord | None]) -> Callable[[], None]:
    """Note, on each fired request's record, when the app's router had it; return the undo."""
    router = getattr(app, "router", None)
    inner = getattr(router, "middleware_stack", None)
    if router is None or inner is None or not callable(inner):
        return lambda: None

    async def routed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        record = current.get()
        if record is None or scope.get("type") != "http":
            return await inner(scope, receive, send)
        record.routed = time.perf_counter()
        record.route_task = asyncio.current_task()

        async def answering(message: dict[str, Any]) -> None:
            # The route is done once its answer starts: what follows is the answer being
            # carried out, which a middleware may hold up at its own pace.
            if message.get("type") == "http.response.start" and record.unrouted is None:
                record.unrouted = time.perf_counter()
            await send(message)

        try:
            await inner(scope, receive, answering)
        finally:
            if record.unrouted is None:
                record.unrouted = time.perf_counter()

    router.middleware_stack = routed

    def undo() -> None:
        if getattr(router, "middleware_stack", None) is routed:
            router.middleware_stack = inner

    return undo


def waiting_chain(record: RequestRecord, task: asyncio.Task[Any], user_files: UserFiles) -> tuple[Place, ...]:
    """The user lines a hung request waits at, outermost first: where its route waits, when a
    middleware runs the route in a task of its own, else where the request's own task waits."""
    for waiting in (record.route_task, task):
        if waiting is not None and not waiting.done():
            places = awaiting_places(waiting, user_files)
            if places:
                return tuple(places)
    return ()
