"""What the harness records: each request it fires (the client's view and the server's), and each
blocked step of the event loop."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi_async_katas.engine.userfiles import Place

if TYPE_CHECKING:
    from fastapi_async_katas.engine.clocks import WaitMarks

CPU_SHARE_FOR_CPU_KIND = 0.5
GIL_SHARE = 0.5
# A blocked step that waited for a CPU a good share of its wall time is judged only when, net of
# its waits, it still ran this many times the limit: on a machine that busy, work that is not the
# step's own (a lock's holder waiting for a CPU, a page read back in) lengthens it too.
BUSY_MARGIN = 3


@dataclass
class RequestRecord:
    """One request: when it was sent, when the app started it, sent its last byte of answer and
    finished (background work included), when the client had it, and what came back."""

    index: int
    method: str
    path: str
    fired: float | None = None
    started: float | None = None
    # When the router (the routes and their dependencies, inside every middleware) had it.
    routed: float | None = None
    unrouted: float | None = None
    # The task the router served it in: a middleware may run it apart from the request's own.
    route_task: Any = field(default=None, repr=False, compare=False)
    answered: float | None = None
    finished: float | None = None
    done: float | None = None
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: BaseException | None = None
    timed_out: bool = False
    waiting_at: Place | None = None
    # For a request still unanswered: the user's lines it waited at, outermost first.
    waiting_chain: tuple[Place, ...] = ()
    # Seconds the loop thread waited for a CPU while this request was in flight (a busy machine),
    # and the part of them before the app had it (while it waited for the loop to take it in).
    busy_s: float = 0.0
    busy_to_start_s: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def latency_s(self) -> float | None:
        if self.fired is None or self.done is None:
            return None
        return self.done - self.fired

    def note_busy(self, marks: WaitMarks, end: float) -> None:
        """Read how long the loop thread waited for a CPU while this one was in flight, and before
        it got in, from the loop's `WaitMarks` (`end`: when the burst ended, for one never done)."""
        if self.fired is not None:
            self.busy_s = marks.between(self.fired, self.done or end)
            self.busy_to_start_s = marks.between(self.fired, self.started or end)

    @property
    def busy_share(self) -> float:
        """The share of its latency the loop thread spent waiting for a CPU."""
        latency = self.latency_s
        return min(self.busy_s / latency, 1.0) if latency else 0.0

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


class LoopHung(BaseException):
    """Raised inside the loop thread when a step has run past the hang limit or the deadline."""


def kind_seen_by_samples(waiting_own_ms: float, cpu_ms: float) -> str:
    """Where GIL waits are measured, of time not clearly computing: a wait (`io`) only as far
    as samples found the thread asleep in calls of its own. A GIL wait that the thread's
    wake-ups could not tell apart, on a busy machine, is not I/O."""
    return "io" if waiting_own_ms >= cpu_ms else "cpu"


@dataclass
class Block:
    """One loop step that ran longer than the threshold, and the user line it is blamed on.

    `wall_ms` and `cpu_ms` are the whole step's; `waiting_for_cpu_ms` is the part of the wall
    time the thread was ready to run but could not: another process had the CPU, or the
    sampler had the GIL; `waiting_for_gil_ms` the part it waited for other threads to let go of
    the GIL. `kind` compares CPU time with the time the thread could have run.
    """

    place: Place | None
    wall_ms: float
    cpu_ms: float
    started: float
    samples: int = 0
    waiting_for_cpu_ms: float = 0.0
    # The user's frames that led to the line, outermost first (the route, say), the line last.
    chain: tuple[Place, ...] = ()
    # CPU time the process's other threads spent while the step ran, and the longest the
    # sampler itself could not run (it too needs the GIL): together, a GIL held elsewhere.
    others_cpu_ms: float = 0.0
    longest_gap_ms: float = 0.0
    # For a `gil` block: the work another thread ran meanwhile, and where it was handed over.
    held_by: str = ""
    held_by_place: Place | None = None
    # Which fired request the step served (its index), when the harness could tell.
    request: int | None = None
    # The part of the wall time the loop thread waited for the GIL while other threads held it,
    # and whether that was measured (a step the sampler saw, where `engine.gilwait` can see) or not.
    waiting_for_gil_ms: float = 0.0
    gil_measured: bool = False
    # The part the samples found the thread asleep in a call of its own (I/O, a sleep, a lock).
    waiting_own_ms: float = 0.0

    @property
    def ran_ms(self) -> float:
        """The wall time the loop thread could run: not waiting for a CPU, nor for the GIL."""
        return max(self.wall_ms - self.waiting_for_cpu_ms - self.waiting_for_gil_ms, 0.0)

    def busy_share(self, limit_ms: float) -> float:
        """The share of its wall time the step waited for a CPU, where that may be what made it a
        block (the rest of it was under `BUSY_MARGIN` times `limit_ms`); 0 where it could not be."""
        rest_ms = self.wall_ms - self.waiting_for_cpu_ms
        return self.waiting_for_cpu_ms / self.wall_ms if self.wall_ms and rest_ms < BUSY_MARGIN * limit_ms else 0.0

    @property
    def stalled_ms(self) -> float:
        """The wall time the loop thread neither waited for a CPU nor computed itself."""
        return max(self.wall_ms - self.waiting_for_cpu_ms - self.cpu_ms, 0.0)

    @property
    def held_in_one_piece(self) -> bool:
        """Whether the GIL was held elsewhere in one long piece (the sampler itself could not run
        for most of the stall while other threads computed), not taken in turns by many threads."""
        stalled_ms = self.stalled_ms
        return self.others_cpu_ms >= GIL_SHARE * stalled_ms and self.longest_gap_ms >= GIL_SHARE * stalled_ms

    @property
    def kind(self) -> str:
        """What most of the time the step could run went to: `cpu`, the loop computed; `gil`, it
        waited for the GIL other threads held while computing; `io`, it waited on something else
        (I/O, a sleep, a lock). A measured GIL wait makes a `gil` block only of a step not blamed
        on a line of the app's own. Where GIL waits cannot be measured, a long stretch in which
        the sampler could not run while other threads computed tells of one instead."""
        running_ms = self.ran_ms
        not_computing_ms = max(running_ms - self.cpu_ms, 0.0)
        # A line of the app's own blamed for its own time is told by that time: what it did.
        own_line = self.place is not None and not self.held_by
        if not own_line and self.waiting_for_gil_ms > max(self.cpu_ms, not_computing_ms):
            return "gil"
        if self.cpu_ms >= CPU_SHARE_FOR_CPU_KIND * running_ms:
            return "cpu"
        if self.gil_measured:
            return kind_seen_by_samples(self.waiting_own_ms, self.cpu_ms)
        return "gil" if self.held_in_one_piece else "io"

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
            "chain": [_place_dict(p) for p in self.chain],
            "held_by": {"work": self.held_by, **_place_dict(self.held_by_place)} if self.kind == "gil" else None,
        }


def _place_dict(place: Place | None) -> dict[str, Any]:
    if place is None:
        return {"file": None, "line": None, "function": None, "code": None}
    return {"file": place.file, "line": place.line, "function": place.function, "code": place.code}
