"""Run an ASGI app's lifespan in process, the way a server would."""

from __future__ import annotations

import asyncio
from typing import Any

ASGIApp = Any


class LifespanFailed(Exception):
    """The app's startup or shutdown failed; `__cause__` holds the app's own exception if any."""


class Lifespan:
    """Send `lifespan.startup` and `lifespan.shutdown` to an app and wait for the answers.

    `state` is the lifespan state a server shares with every request (`scope["state"]`).
    An app that does not speak the lifespan protocol is served without it, as uvicorn does.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.supported = True

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.create_task(self._run(scope), name="lifespan")
        await self._inbox.put({"type": "lifespan.startup"})
        await self._expect("lifespan.startup")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done() or not self.supported:
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._expect("lifespan.shutdown")
        await self._task

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except BaseException:
                pass

    async def _run(self, scope: dict[str, Any]) -> None:
        try:
            await self.app(scope, self._inbox.get, self._outbox.put)
        except BaseException as exc:
            await self._outbox.put({"type": "_crashed", "exc": exc})
            return
        await self._outbox.put({"type": "_returned"})

    async def _expect(self, phase: str) -> None:
        message = await self._outbox.get()
        kind = message["type"]
        if kind == f"{phase}.complete":
            return
        if kind == "_returned" and phase == "lifespan.startup":
            self.supported = False
            return
        if kind == "_crashed":
            exc = message["exc"]
            if phase == "lifespan.startup" and not self.state and _rejects_lifespan(exc):
                self.supported = False
                return
            raise LifespanFailed(f"{phase} raised {type(exc).__name__}: {exc}") from exc
        if kind == f"{phase}.failed":
            crashed = await self._outbox.get()
            cause = crashed.get("exc")
            raise LifespanFailed(message.get("message") or f"{phase} failed") from cause
        raise LifespanFailed(f"unexpected ASGI message during {phase}: {kind}")


def _rejects_lifespan(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, (AssertionError, NotImplementedError, KeyError)) or "lifespan" in text
