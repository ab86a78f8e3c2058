"""The thin ASGI wrapper between the harness's client and the app: it notes, on each fired
request's record, when the app started it, sent the last byte of its answer and finished, and
any exception the app raised, so the timeline shows the server's view."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

from fastapi_async_katas.engine.exits import AppExited
from fastapi_async_katas.engine.records import RequestRecord

ASGIApp = Any
# The request the current task is sending (set by the harness in each request's own task).
REQUEST_VAR: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar("katas_request", default=None)
# Called the moment the app sends the last byte of an answer, before any background work runs.
OnAnswer = Callable[[RequestRecord, bytes], None]
_ON_ANSWER: contextvars.ContextVar[OnAnswer | None] = contextvars.ContextVar("katas_on_answer", default=None)


def current_request() -> RequestRecord | None:
    """The request the calling task is sending, if it is one fired by a `Harness`."""
    return REQUEST_VAR.get()


def sending_now(record: RequestRecord, on_answer: OnAnswer | None) -> None:
    """In a request's own task, before it is sent: the wrapper will find it here."""
    REQUEST_VAR.set(record)
    _ON_ANSWER.set(on_answer)


def recording(app: ASGIApp, lifespan_state: Callable[[], dict[str, Any]]) -> ASGIApp:
    """`app`, wrapped to record each fired request; each request gets a shallow copy of the
    lifespan's state, as a server gives it."""

    async def recording_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        record = REQUEST_VAR.get()
        if scope["type"] != "http" or record is None:
            await app(scope, receive, send)
            return
        scope = {**scope, "state": dict(lifespan_state())}
        record.started = time.perf_counter()
        on_answer = _ON_ANSWER.get()
        parts: list[bytes] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False) and record.answered is None:
                    record.answered = time.perf_counter()
                    if on_answer is not None:
                        on_answer(record, b"".join(parts))
            await send(message)

        try:
            await app(scope, receive, sending)
        except SystemExit as exc:
            # Out of a task, SystemExit would stop the test's own loop: the request fails instead.
            record.error = exc
            raise AppExited(f"the app raised SystemExit({exc.code!r})") from exc
        except Exception as exc:
            record.error = exc
            raise
        finally:
            record.finished = time.perf_counter()

    return recording_app
