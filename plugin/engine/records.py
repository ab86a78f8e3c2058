"""What the harness records of each request it fires: the client's view and the server's."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.userfiles import Place


@dataclass
class RequestRecord:
    """One request: when it was sent, when the app started it, sent its last byte of answer and
    finished (background work included), when the client had it, and what came back."""

    index: int
    method: str
    path: str
    fired: float | None = None
    started: float | None = None
    answered: float | None = None
    finished: float | None = None
    done: float | None = None
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: BaseException | None = None
    timed_out: bool = False
    waiting_at: Place | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def latency_s(self) -> float | None:
        if self.fired is None or self.done is None:
            return None
        return self.done - self.fired

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body)
        except ValueError:
            return self.body.decode(errors="replace")


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The largest number of intervals that overlap at one moment."""
    events = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
