"""Judge a burst of requests, and fail with an explanation a learner can act on.

`Run` holds what `Harness.fire()` measured. Its `expect_*` methods compare one property with
what was expected and raise `KataFailure` carrying the full explanation (what was measured,
what was expected, the timeline, the blamed lines).
"""

from __future__ import annotations

import json as jsonlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi_async_katas.engine import explaining
from fastapi_async_katas.engine.awaits import Unawaited
from fastapi_async_katas.engine.exits import AppExited
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.records import RequestRecord, max_overlap
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.engine.verdicts import INCONCLUSIVE, INCONCLUSIVE_SHARE, UNJUDGED, Inconclusive, KataFailure


@dataclass
class Run:
    """What one burst of requests measured."""

    requests: list[RequestRecord]
    began: float
    ended: float
    blocks: list[Block]
    unawaited: list[Unawaited]
    timeout_s: float
    block_ms: float
    context: list[RequestRecord] | None = None
    # Seconds the loop thread spent ready to run but waiting for a CPU while the run lasted.
    busy_s: float = 0.0
    # The longest any other thread of the process (the app's workers) waited for a CPU meanwhile.
    others_busy_s: float = 0.0
    # Stopped early (`fire_many(stop=...)`): the requests not yet sent then were left out.
    left_out: int = 0
    stopped: bool = False
    # Steps as long as blocks that the sampler never saw: nobody's, and not free (see LoopWatch).
    unjudged: list[Block] = field(default_factory=list)

    @property
    def timeline_requests(self) -> list[RequestRecord]:
        """Every request of the burst, even when this run was narrowed with `only()`."""
        return self.context if self.context is not None else self.requests

    # -- figures -----------------------------------------------------------------------
    @property
    def wall_s(self) -> float:
        return self.ended - self.began

    @property
    def busy_share(self) -> float:
        """The share of the run's wall time the loop thread waited for a CPU (a busy machine)."""
        return self.busy_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def busiest_share(self) -> float:
        """As `busy_share`, for the loop thread or the other thread (an app's worker) that waited longest."""
        return max(self.busy_s, self.others_busy_s) / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def max_in_flight(self) -> int:
        """The most requests the app was handling at the same moment, counted where its routes
        run (inside any middleware, which may take requests in faster than the routes serve
        them), or at the app's door when the app has no router the harness can see."""
        routed = [(r.routed, r.unrouted or self.ended) for r in self.requests if r.routed is not None]
        if routed:
            return max_overlap(routed)
        return max_overlap((r.started, r.finished or self.ended) for r in self.requests if r.started is not None)

    @property
    def status_counts(self) -> dict[str, int]:
        return dict(Counter("timeout" if r.timed_out else str(r.status) for r in self.requests))

    @property
    def latencies_s(self) -> list[float]:
        return [r.latency_s for r in self.requests if r.latency_s is not None]

    @property
    def timed_out(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.timed_out]

    def json(self) -> list[Any]:
        return [r.json() for r in self.requests]

    def only(self, path: str) -> "Run":
        """The same run, narrowed to the requests for this path (blocks and all else kept)."""
        narrowed = [r for r in self.requests if r.path.split("?")[0] == path]
        return replace(self, requests=narrowed, context=self.timeline_requests)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.requests),
            "wall_s": round(self.wall_s, 3),
            "max_in_flight": self.max_in_flight,
            "status_counts": self.status_counts,
            "blocks": [b.as_dict() for b in self.blocks],
            "unawaited": [u.as_dict() for u in self.unawaited],
        }

    # -- expectations ------------------------------------------------------------------
    def expect_status(self, status: int, *, sent: str = "") -> "Run":
        """Every request finished in time with this status code. `sent` says what the requests
        carried, for the headline: "with an API key nobody owns", say."""
        __tracebackhide__ = True
        self._expect_finished()
        wrong = [r for r in self.requests if r.status != status]
        if wrong:
            first = wrong[0]
            carried = f" {sent}" if sent else ""
            self.fail(
                f"{first.label}{carried} returned {first.status}; expected {status}.",
                measured=[f"status codes: {_counts_text(self.status_counts)}"],
                expected=[f"every response is {status}"],
                show_timeline=False,
            )
        return self

    def expect_json(self, expected: Any | Callable[[Any], bool], *, what: str = "the response body") -> "Run":
        """Every response body equals `expected` (or makes `expected(body)` true)."""
        __tracebackhide__ = True
        self._expect_finished()
        for record in self.requests:
            body = record.json()
            ok = expected(body) if callable(expected) else body == expected
            if not ok:
                shown = "a body that passes the check" if callable(expected) else _short(expected)
                self.fail(
                    f"{record.label} returned the wrong data.",
                    measured=[f"{what}: {_short(body)}"],
                    expected=[f"{what}: {shown}"],
                    show_timeline=False,
                )
        return self

    def expect_in_flight(self, *, at_least: int) -> "Run":
        """At some moment the app was handling at least this many requests at once."""
        __tracebackhide__ = True
        self._expect_finished()
        if self.max_in_flight < at_least:
            n = len(self.requests)
            self.fail(
                f"{n} concurrent requests were served {'one after another' if self.max_in_flight == 1 else 'mostly in turn'}.",
                measured=[f"at most {explaining.plural(self.max_in_flight, 'request')} in the app at once; all {n} took {self.wall_s:.2f} s"],
                expected=[f"at least {at_least} of the {n} requests in the app at the same time"],
                busy_may_explain=True,
            )
        return self

    def expect_no_blocks(self, *, at_least_ms: float | None = None, extra: Iterable[str] = ()) -> "Run":
        """No loop step blocked for `at_least_ms` (default: the run's `block_ms`) in the user's files."""
        __tracebackhide__ = True
        limit = self.block_ms if at_least_ms is None else at_least_ms
        long = [b for b in self.blocks if b.wall_ms >= limit]
        if long:
            worst = max(long, key=lambda b: b.wall_ms)
            where = f" at {worst.place.short()}" if worst.place else ""
            busy = min(b.busy_share(limit) for b in long)
            self.fail(
                f"The event loop was blocked for {worst.wall_ms:.0f} ms{where}, and served nobody meanwhile.",
                measured=[f"{explaining.plural(len(long), 'blocked step')} of the loop, the longest {worst.wall_ms:.0f} ms"],
                expected=[f"no step of the event loop longer than {limit:.0f} ms in your code"],
                extra=extra,
                busy_may_explain=True,
                busy_share=busy,
            )
        self._expect_judged([b for b in self.unjudged if b.wall_ms >= limit])  # `fail` raised if any was long
        self._expect_finished()
        return self

    def expect_max_latency(self, seconds: float, *, while_: str = "", because: str = "") -> "Run":
        """Every request was answered within `seconds` (a one-sided bound: give it a wide margin).

        `while_` says what else was going on; `because` says where the bound comes from.
        """
        __tracebackhide__ = True
        self._expect_finished()
        slowest = max(self.requests, key=lambda r: r.latency_s or 0.0)
        if (slowest.latency_s or 0.0) >= seconds:
            context = f" while {while_}" if while_ else ""
            why = f" ({because})" if because else ""
            self.fail(
                f"{slowest.label} took {slowest.latency_s:.2f} s{context}.",
                measured=[f"slowest {slowest.label}: {slowest.latency_s:.2f} s"],
                expected=[f"every {slowest.label} answered in under {seconds:.2f} s{why}"],
                busy_may_explain=True,
                # A run's quiet end must not water down a busy stretch that made this one slow.
                busy_share=max(self.busy_share, slowest.busy_share),
            )
        return self

    def expect_no_cpu_blocks(self, *, cpu_ms: float = 100.0, extra: Iterable[str] = ()) -> "Run":
        """No loop step spent `cpu_ms` or more of CPU time in the user's code."""
        __tracebackhide__ = True
        busy = [b for b in self.blocks if b.cpu_ms >= cpu_ms]
        if busy:
            worst = max(busy, key=lambda b: b.cpu_ms)
            where = f" at {worst.place.short()}" if worst.place else ""
            self.fail(
                f"The event loop spent {worst.cpu_ms:.0f} ms computing{where}, and served nobody meanwhile.",
                measured=[f"{explaining.plural(len(busy), 'loop step')} of {cpu_ms:.0f} ms CPU or more, the longest {worst.cpu_ms:.0f} ms CPU"],
                expected=[f"no step of the event loop spends {cpu_ms:.0f} ms of CPU in your code"],
                extra=extra,
            )
        self._expect_judged([b for b in self.unjudged if b.cpu_ms >= cpu_ms])  # `fail` raised if any was busy
        self._expect_finished()
        return self

    def expect_all_awaited(self) -> "Run":
        """No coroutine was created and then dropped without being awaited."""
        __tracebackhide__ = True
        if self.unawaited:
            first = self.unawaited[0]
            where = f" at {first.created_at.short()}" if first.created_at else ""
            self.fail(
                f"The coroutine {first.name}() was created{where} but never awaited, so it never ran.",
                measured=[f"{explaining.plural(len(self.unawaited), 'coroutine')} never awaited"],
                expected=["every coroutine your code creates is awaited"],
                show_timeline=False,
            )
        return self

    def fail(
        self,
        headline: str,
        *,
        measured: Iterable[str] = (),
        expected: Iterable[str] = (),
        show_timeline: bool = True,
        extra: Iterable[str] = (),
        busy_may_explain: bool = False,
        busy_share: float | None = None,
    ) -> None:
        """Raise `KataFailure` with the whole explanation of this run.

        `busy_may_explain` marks a check a busy machine alone can fail (a deadline, a latency,
        how much overlapped): when the loop thread spent `INCONCLUSIVE_SHARE` of the run waiting
        for a CPU, the verdict is `Inconclusive`, never a pass, with the explanation below it.
        `busy_share` replaces the run's share: a step's, or `busiest_share` where workers' waits count.
        """
        __tracebackhide__ = True
        lines = explaining.failure_lines(headline, measured=measured, expected=expected, run=self, show_timeline=show_timeline, extra=extra)
        text = "\n".join(lines)
        share = self.busy_share if busy_share is None else busy_share
        if busy_may_explain and share >= INCONCLUSIVE_SHARE:
            raise Inconclusive(f"{INCONCLUSIVE.format(percent=round(100 * share))}\n\n{text}")
        raise KataFailure(text)

    def _expect_judged(self, unjudged: list[Block]) -> None:
        """No block was found: that is a pass only if no step that could have been one went unseen."""
        __tracebackhide__ = True
        if unjudged:
            worst = max(unjudged, key=lambda b: b.wall_ms)
            raise Inconclusive("\n".join(explaining.failure_lines(UNJUDGED.format(wall_ms=worst.wall_ms, cpu_ms=worst.cpu_ms), run=self)))

    def _expect_finished(self) -> None:
        __tracebackhide__ = True
        exited = [r for r in self.requests if isinstance(r.error, (SystemExit, AppExited))]
        if exited:
            first = exited[0]
            place = explaining.raised_at(first.error, UserFiles())
            where = f" at {place.short()}" if place else ""
            self.fail(
                f"{first.label} tried to end the process{where}.",
                measured=[f"{len(exited)} request(s) ended in an exit of the whole process ({type(first.error).__name__}: {first.error})"],
                expected=["a request that fails answers with an error status; the process goes on serving the others"],
                show_timeline=False,
            )
        if self.timed_out:
            # Where most of them waited: behind a lock, that is the lock, not the one inside it.
            places = Counter(r.waiting_at for r in self.timed_out if r.waiting_at is not None)
            place, waiting = places.most_common(1)[0] if places else (None, 0)
            stuck = next(r for r in self.timed_out if r.waiting_at == place)
            where = f", still waiting at {place.short()}" if place else ""
            measured = [f"{len(self.timed_out)} request(s) still unanswered after {self.timeout_s:g} s"]
            if place is not None and len(places) > 1:
                measured.append(f"{waiting} of them waiting at {place.short()}: {place.code}")
            self.fail(
                f"timed out: {len(self.timed_out)} of {len(self.requests)} request(s) got no response within "
                f"{self.timeout_s:g} s ({stuck.label}{where}).",
                measured=measured,
                expected=["every request answered well within the deadline"],
                busy_may_explain=True,  # by the loop's waits for a CPU, or those of a thread it waited on
                busy_share=self.busiest_share,
            )


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n}× {status}" for status, n in sorted(counts.items()))


def _short(value: Any, limit: int = 160) -> str:
    text = jsonlib.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
