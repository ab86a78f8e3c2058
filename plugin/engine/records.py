"""What the harness records: each request it fires (the client's view and the server's), and each
blocked step of the event loop."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.userfiles import Place

CPU_SHARE_FOR_CPU_KIND = 0.5


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


@dataclass
class Block:
    """One loop step that ran longer than the threshold, and the user line it is blamed on.

    `wall_ms` and `cpu_ms` are the whole step's; `waiting_for_cpu_ms` is the part of the wall
    time the thread was ready to run but could not: another process had the CPU, or the
    sampler had the GIL. `kind` compares CPU time with the time the thread could have run.
    """

    place: Place | None
    wall_ms: float
    cpu_ms: float
    started: float
    samples: int = 0
    waiting_for_cpu_ms: float = 0.0

    @property
    def kind(self) -> str:
        running_ms = max(self.wall_ms - self.waiting_for_cpu_ms, 0.0)
        return "cpu" if self.cpu_ms >= CPU_SHARE_FOR_CPU_KIND * running_ms else "io"

    def as_dict(self) -> dict[str, Any]:
        place = self.place
        return {
            "file": place.file if place else None,
            "line": place.line if place else None,
            "function": place.function if place else None,
            "code": place.code if place else None,
            "wall_ms": round(self.wall_ms, 1),
            "cpu_ms": round(self.cpu_ms, 1),
            "kind": self.kind,
        }
