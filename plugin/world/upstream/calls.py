"""What an upstream service receives and answers: requests, replies, and each call it saw."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi_async_katas.engine.userfiles import Place

Respond = Callable[["UpstreamRequest"], Any]


@dataclass(frozen=True)
class UpstreamRequest:
    """One request as a route's `respond` function sees it."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Reply:
    """An answer other than 200: return it from a route's `respond` function."""

    status: int
    body: Any = None


@dataclass
class Call:
    """One request the service received, as the service saw it."""

    index: int
    method: str
    path: str
    client_port: int | None
    started: float
    finished: float | None = None
    status: int | None = None
    outcome: str = "in flight"  # answered, rejected, hung then released, client gave up, stopped
    waiting_in_app: list[Place] | None = None
    # How many of the app's tasks were waiting in its code meanwhile (one per line of work).
    tasks_waiting: int = 0
    # Where the app's threads stood as this call, the only one in flight, was answered.
    threads_waiting: list[Place] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def duration_s(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    respond: Respond
    latency_s: float | None
    hang: bool = False


def compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


async def client_gone(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_json(send: Any, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
