"""An upstream service's checks: its counts against what a kata expects, explained on the run's timeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi_async_katas.engine.explaining import plural, span_lines
from fastapi_async_katas.engine.misconceptions import ONE_BY_ONE, in_turn
from fastapi_async_katas.engine.records import max_overlap
from fastapi_async_katas.world.upstream.calls import Call
from fastapi_async_katas.world.waiting import thread_lines, waiting_lines

if TYPE_CHECKING:
    from fastapi_async_katas.engine.judging import Run

SETTLE_S = 1.0


class UpstreamChecks:
    """The `expect_*` checks and the explaining of an `Upstream`, kept apart from serving."""

    name: str
    rejected: int
    capacity_status: int
    peak_in_flight: int
    total_requests: int
    connections_accepted: int

    @property
    def calls(self) -> list[Call]:
        raise NotImplementedError

    def settle(self, timeout_s: float = SETTLE_S) -> int:
        raise NotImplementedError

    def calls_during(self, run: "Run") -> list[Call]:
        """The calls that reached this service while `run` lasted (not those of the app's startup)."""
        return [c for c in self.calls if run.began <= c.started <= run.ended]

    def peak_during(self, run: "Run") -> int:
        """The most calls in flight here at one moment while `run` lasted."""
        return self.peak_between(run.began, run.ended)

    def peak_between(self, start: float, end: float) -> int:
        """The most calls in flight here at one moment, of those that reached it between `start`
        and `end` (work the app does after its answers, say: `time.perf_counter()` as `end`)."""
        calls = [c for c in self.calls if start <= c.started <= end]
        return max_overlap((c.started, c.finished if c.finished is not None else end) for c in calls)

    def expect_requests(self, run: "Run", *, at_least: int) -> None:
        """While `run` lasted, the app called this service at least this many times (no cache,
        no skipped work, nothing fetched ahead at startup)."""
        __tracebackhide__ = True
        self._expect_made(run, self.calls_during(run), at_least)

    async def expect_requests_within(self, run: "Run", *, at_least: int, within_s: float) -> None:
        """From the start of `run` until `within_s` after its end, the app called this service at
        least this many times: for work it leaves for after its answers (an email, say). Waits
        on the test's loop, so work on that loop goes on meanwhile."""
        __tracebackhide__ = True
        deadline = run.ended + within_s

        def made() -> list[Call]:
            return [c for c in self.calls if run.began <= c.started <= deadline]

        while time.perf_counter() < deadline and len(made()) < at_least:
            await asyncio.sleep(0.01)
        self._expect_made(run, made(), at_least, within_s)

    def _expect_made(self, run: "Run", during: list[Call], at_least: int, within_s: float | None = None) -> None:
        """`within_s`: the calls may come that long after the answers (work left for after them)."""
        __tracebackhide__ = True
        made = len(during)
        if made < at_least:
            earlier = len([c for c in self.calls if c.started < run.began])
            after = "" if within_s is None else f", or within {within_s:g} s after their answers"
            never = made == 0 and within_s is not None and not earlier
            run.fail(
                f"{plural(len(run.requests), 'request')} to the app made only "
                f"{plural(made, 'call')} to the {self.name}.",
                measured=[f"{plural(made, 'call')} reached the {self.name} while the requests ran{after}"]
                + ([f"{plural(earlier, 'call')} came before the requests were sent (at the app's startup, or for "
                    "earlier requests): answers kept from then may be stale"] if earlier else []),
                expected=[f"every request calls the {self.name} itself{', not an answer kept from before' if earlier else ''}: "
                          f"at least {plural(at_least, 'call')}" if within_s is None else
                          f"every request's call reaches the {self.name}, before its answer or soon after it: at least "
                          f"{plural(at_least, 'call')}"],
                extra=(self.call_lines(run.began, run.ended, during) if during else [])
                + ([f"No call came at all: the work left for after the answers (a background task) never ran, or never "
                    f"called the {self.name}."] if never else []),
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
        extra: list[str] | None = None,
    ) -> None:
        """At some moment at least (or never more than) this many calls were in flight here.

        `calls` names the calls in the headline; `show_calls=False` leaves out the rows of
        calls, where the run's own timeline already tells the same story; `extra` lines go first.
        """
        __tracebackhide__ = True
        done = self.calls_during(run)
        peak = self.peak_during(run)
        if at_least is not None and peak < at_least:
            together = "one after another" if peak <= 1 else f"no more than {peak} at a time"
            headline = f"The {self.name} received {calls} {together}." if done else (
                f"The {self.name} received none of {calls}: the app did not call it while the run lasted.")
            run.fail(
                headline,
                measured=[
                    f"at most {plural(peak, 'call')} in flight at the {self.name} at once, {len(done)} in all",
                    *self._sum_line(run, done),
                ],
                expected=[
                    f"at least {at_least} calls in flight at the same moment, so the wait is about "
                    "as long as the slowest call, not the sum of them all" if self.capacity is None else
                    f"at least {at_least} calls in flight at the same moment: the {self.name} takes {self.capacity} at once, "
                    "and fewer at a time is safe, but slower than it need be"
                ],
                extra=_blocks(extra or [], self._wrong_turn(run, done, at_least),
                              self.call_lines(run.began, run.ended) if show_calls else [], self.waiting_lines(),
                              thread_lines(done, "Where the app's threads were while one call was answered:")),
                busy_may_explain=bool(done),  # a busy machine slows calls down, but never leaves them all unmade
            )
        if at_most is not None and peak > at_most:
            # A call turned away leaves at once: how many were in flight together understates what the app sent.
            rejected = len([c for c in done if c.outcome == "rejected"])
            run.fail(
                f"The {self.name} turned away {plural(rejected, 'call')}: the app sent it more than {self.capacity} at once."
                if rejected else f"The {self.name} received {peak} calls at once; it can take only {at_most}.",
                measured=[f"{plural(rejected, 'call')} turned away with {self.capacity_status}, each sent while "
                          f"{self.capacity} others were in flight at the {self.name}" if rejected
                          else f"{peak} calls in flight at the {self.name} at once"],
                expected=[f"never more than {at_most} calls in flight at the {self.name}"],
                extra=_blocks(extra or [], self.call_lines(run.began, run.ended), self.waiting_lines(done)),
            )

    def expect_connections(self, run: "Run", *, at_most: int, extra: list[str] | None = None) -> None:
        """The app opened no more than this many TCP connections to this service (it reuses them);
        `extra` lines (where the clients were built, say) follow the figures."""
        __tracebackhide__ = True
        if self.connections_accepted > at_most:
            run.fail(
                f"The app opened {self.connections_accepted} connections to the {self.name} "
                f"for {plural(self.total_requests, 'call')}.",
                measured=[f"{self.connections_accepted} TCP connections accepted by the {self.name}"],
                expected=[f"at most {at_most}: connections are kept open and reused from one call to the next"],
                extra=extra or [],
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
                f"{plural(left, 'call')} to the {self.name} still in flight after the app had answered.",
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
        """The misconception the calls in turn point to, if one does: awaited one by one (one
        request whose one task waited at each call), or let through a few at a time."""
        if run.blocks:
            return []  # the loop itself was held up: the blocks below say where
        # One line of work at a time: the route, and at most one task it awaits, were waiting
        # (with gather, each call waits in a task of its own, whatever then holds it back).
        one_line_of_work = all(c.tasks_waiting <= 2 for c in calls)
        if len(run.requests) == 1 and len(calls) > 1 and one_line_of_work:
            return [ONE_BY_ONE]
        if run.max_in_flight >= at_least or len(calls) > 1:
            return [in_turn(run.max_in_flight, f"their calls to the {self.name}", self.peak_during(run))]
        return []

    def call_lines(self, began: float, ended: float, calls: Sequence[Call] | None = None) -> list[str]:
        """One row per call (all of them, or `calls`) on the run's time axis: `█` while this
        service was working on it."""
        calls = self.calls if calls is None else calls
        if not calls:
            return [f"The {self.name} received no calls."]
        spans = [(c.label, c.started, c.finished, _outcome(c)) for c in calls]
        return span_lines(f"Calls the {self.name} received", "call", spans, began, ended)

    def waiting_lines(self, calls: Sequence[Call] | None = None) -> list[str]:
        """The lines of the app that waited for each call, where known."""
        return waiting_lines(list(self.calls if calls is None else calls), "Where your code waited for each call:")


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
