"""An upstream service's checks: its counts against what a kata expects, explained on the run's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi_async_katas.engine.explaining import place_lines, span_lines
from fastapi_async_katas.engine.misconceptions import IN_TURN, ONE_BY_ONE
from fastapi_async_katas.engine.userfiles import Place
from fastapi_async_katas.world.upstream.calls import Call

if TYPE_CHECKING:
    from fastapi_async_katas.engine.judging import Run

SETTLE_S = 1.0
MAX_PLACES_PER_CALL = 3
MAX_LABELS_PER_ROW = 3


class UpstreamChecks:
    """The `expect_*` checks and the explaining of an `Upstream`, kept apart from serving."""

    name: str
    rejected: int
    peak_in_flight: int
    total_requests: int
    connections_accepted: int

    @property
    def calls(self) -> list[Call]:
        raise NotImplementedError

    def settle(self, timeout_s: float = SETTLE_S) -> int:
        raise NotImplementedError

    def expect_requests(self, run: "Run", *, at_least: int) -> None:
        """The app called this service at least this many times (no cache, no skipped work)."""
        __tracebackhide__ = True
        if self.total_requests < at_least:
            run.fail(
                f"{_plural(len(run.requests), 'request')} to the app made only "
                f"{_plural(self.total_requests, 'call')} to the {self.name}.",
                measured=[f"{_plural(self.total_requests, 'call')} reached the {self.name}"],
                expected=[f"every request asks the {self.name} afresh: at least {_plural(at_least, 'call')}"],
                extra=self.call_lines(run.began, run.ended),
                show_timeline=False,
            )

    def expect_peak_in_flight(
        self,
        run: "Run",
        *,
        at_least: int | None = None,
        at_most: int | None = None,
        calls: str = "calls",
        show_calls: bool = True,
    ) -> None:
        """At some moment at least (or never more than) this many calls were in flight here.

        `calls` names the calls in the headline; `show_calls=False` leaves out the rows of
        calls, where the run's own timeline already tells the same story.
        """
        __tracebackhide__ = True
        peak, done = self.peak_in_flight, self.calls
        if at_least is not None and peak < at_least:
            together = "one after another" if peak <= 1 else f"no more than {peak} at a time"
            run.fail(
                f"The {self.name} received {calls} {together}.",
                measured=[
                    f"at most {_plural(peak, 'call')} in flight at the {self.name} at once, {len(done)} in all",
                    *self._sum_line(run, done),
                ],
                expected=[
                    f"at least {at_least} calls in flight at the same moment, so the wait is about "
                    "as long as the slowest call, not the sum of them all"
                ],
                extra=_blocks(self._wrong_turn(run, done, at_least), self.call_lines(run.began, run.ended) if show_calls else [], self.waiting_lines()),
                busy_may_explain=True,
            )
        if at_most is not None and peak > at_most:
            run.fail(
                f"The {self.name} received {peak} calls at once; it can take only {at_most}.",
                measured=[f"{peak} calls in flight at the {self.name} at once"
                          + (f"; {self.rejected} turned away with 503" if self.rejected else "")],
                expected=[f"never more than {at_most} calls in flight at the {self.name}"],
                extra=self.call_lines(run.began, run.ended),
            )

    def expect_connections(self, run: "Run", *, at_most: int) -> None:
        """The app opened no more than this many TCP connections to this service (it reuses them)."""
        __tracebackhide__ = True
        if self.connections_accepted > at_most:
            run.fail(
                f"The app opened {self.connections_accepted} connections to the {self.name} "
                f"for {_plural(self.total_requests, 'call')}.",
                measured=[f"{self.connections_accepted} TCP connections accepted by the {self.name}"],
                expected=[f"at most {at_most}: connections are kept open and reused from one call to the next"],
                show_timeline=False,
            )

    def expect_nothing_in_flight(self, run: "Run") -> None:
        """Once the app has answered, none of its calls to this service is still waiting.

        A call the app gave up on ends when its connection closes, which the server notices a
        moment later, so this waits up to `SETTLE_S` for the count to reach zero.
        """
        __tracebackhide__ = True
        left = self.settle()
        if left:
            stuck = [c for c in self.calls if c.finished is None]
            run.fail(
                f"{_plural(left, 'call')} to the {self.name} still in flight after the app had answered.",
                measured=[f"{left} in flight: the app stopped waiting but left the call open"],
                expected=["every call the app gives up on is cancelled, and its connection closed"],
                extra=_blocks(self.call_lines(run.began, run.ended), self.waiting_lines(stuck)),
            )

    # -- explaining --------------------------------------------------------------------
    def _sum_line(self, run: "Run", calls: Sequence[Call]) -> list[str]:
        durations = [c.duration_s for c in calls if c.duration_s is not None]
        if len(durations) < 2:
            return []
        one = f"the {len(run.requests)} requests" if len(run.requests) > 1 else run.requests[0].label
        return [f"the calls took {sum(durations):.2f} s added up, the slowest {max(durations):.2f} s; "
                f"{one} took {run.wall_s:.2f} s"]

    def _wrong_turn(self, run: "Run", calls: Sequence[Call], at_least: int) -> list[str]:
        """The misconception the calls in turn point to, if one does."""
        if len(run.requests) == 1 and len(calls) > 1:
            return [ONE_BY_ONE]
        if run.max_in_flight >= at_least:
            return [IN_TURN.format(in_app=run.max_in_flight, what=f"their calls to the {self.name}")]
        return []

    def call_lines(self, began: float, ended: float) -> list[str]:
        """One row per call on the run's time axis: `█` while this service was working on it."""
        calls = self.calls
        if not calls:
            return [f"The {self.name} received no calls."]
        spans = [(c.label, c.started, c.finished, _outcome(c)) for c in calls]
        return span_lines(f"Calls the {self.name} received", "call", spans, began, ended)

    def waiting_lines(self, calls: Sequence[Call] | None = None) -> list[str]:
        """The lines of the app that waited for each call, where known; calls that waited at the same lines share a row."""
        groups: dict[tuple[Place, ...], list[Call]] = {}
        for c in self.calls if calls is None else calls:
            if c.waiting_in_app:
                groups.setdefault(tuple(c.waiting_in_app[:MAX_PLACES_PER_CALL]), []).append(c)
        if not groups:
            return []
        lines = ["Where your code waited for each call:"]
        for places, group in groups.items():
            labels = ", ".join(c.label for c in group[:MAX_LABELS_PER_ROW])
            more = f" and {len(group) - MAX_LABELS_PER_ROW} more" if len(group) > MAX_LABELS_PER_ROW else ""
            lines.append(f"  {labels}{more}")
            for place in places:
                lines += ["  " + line for line in place_lines(place)]
        return lines


def _outcome(call: Call) -> str:
    if call.status is None:
        return call.outcome
    return f"{call.status}" + ("" if call.outcome == "answered" else f" ({call.outcome})")


def _blocks(*blocks: list[str]) -> list[str]:
    """Blocks of lines, one blank line between each two that are not empty."""
    lines: list[str] = []
    for block in filter(None, blocks):
        lines += [""] * bool(lines) + block
    return lines


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
