"""The database's checks: what the app did to it, against what a kata expects, explained."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.explaining import place_lines, span_lines
from fastapi_async_katas.engine.misconceptions import in_turn
from fastapi_async_katas.engine.processes import ProcessStart
from fastapi_async_katas.engine.userfiles import Place
from fastapi_async_katas.world.waiting import thread_lines, waiting_lines


@dataclass
class QueryRecord:
    """One query's round trip: its SQL and parameters, when it left and came back, and the
    lines of the app that were waiting meanwhile (where known)."""

    sql: str
    params: tuple[Any, ...]
    started: float
    finished: float | None = None
    on_loop: bool = False
    waiting_in_app: list[Place] | None = None
    # How many of the app's tasks were waiting in its code meanwhile (one per line of work).
    tasks_waiting: int = 0
    # Where the app's threads stood while this query was the only one in flight (one per thread).
    threads_waiting: list[Place] | None = None

    @property
    def label(self) -> str:
        return _label(self.sql)


@dataclass(frozen=True)
class LoopQuery:
    """A query that ran on an event loop's thread, blocking it."""

    place: Place | None
    sql: str
    wall_ms: float
    cpu_ms: float
    started: float = 0.0


@dataclass
class AnswerSnapshot:
    """The rows a query returned the moment each answer was sent: pass it to `fire(on_answer=...)`.

    `params_of(body)` turns an answer's JSON body into the query's parameters.
    """

    database: "DatabaseChecks"
    sql: str
    params_of: Callable[[Any], tuple[Any, ...]]
    rows: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)
    params: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def __call__(self, record: Any, body: bytes) -> None:
        try:
            params = tuple(self.params_of(json.loads(body)))
        except (ValueError, KeyError, TypeError, IndexError):
            return  # no answer to look up: the status and body checks say what is wrong
        self.params[record.index] = params
        self.rows[record.index] = self.database.query(self.sql, params)


class DatabaseChecks:
    """The `expect_*` checks of a `Database`, kept apart from the driver."""

    latency_s: float
    total_queries: int
    loop_queries: list[LoopQuery]
    process_starts: list[ProcessStart]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def queries_between(self, start: float, end: float, matching: str = "") -> list[QueryRecord]:
        raise NotImplementedError

    def peak_between(self, start: float, end: float, matching: str = "") -> int:
        raise NotImplementedError

    def expect_queries(self, run: Any, *, at_least: int) -> None:
        """While `run` lasted, the app queried the database at least this many times (no cache,
        no skipped work, nothing read ahead at startup)."""
        __tracebackhide__ = True
        made = len([q for q in self.queries_between(run.began, run.ended) if q.started >= run.began])
        if made < at_least and self.process_starts:
            self._queried_from_other_processes(run, made, at_least)
        if made < at_least:
            earlier = len([q for q in self.queries_between(0.0, run.began) if q.started < run.began])
            run.fail(
                f"{len(run.requests)} requests made only {made} database "
                f"quer{'y' if made == 1 else 'ies'}.",
                measured=[f"{made} {'query' if made == 1 else 'queries'} reached the database while the requests ran"]
                + ([f"{earlier} {'query' if earlier == 1 else 'queries'} came before the requests were sent (at the "
                    "app's startup, or for earlier requests): rows kept from then may be stale"] if earlier else []),
                expected=[f"each request reads fresh data from the database: at least {at_least} queries"],
                show_timeline=False,
            )

    def _queried_from_other_processes(self, run: Any, made: int, at_least: int) -> None:
        """The app handed its queries to processes of its own: they may well have run, where this
        database (the kata's, in the test's process) cannot see them."""
        __tracebackhide__ = True
        count = len(self.process_starts)
        first = next((s.place for s in self.process_starts if s.place is not None), None)
        run.fail(
            f"{len(run.requests)} requests made only {made} database quer{'y' if made == 1 else 'ies'} from the app's own "
            f"process: the app started {count} other process{'' if count == 1 else 'es'} to query from.",
            measured=[f"{made} {'query' if made == 1 else 'queries'} reached the database from the app's process while the requests ran",
                      f"{count} process{'' if count == 1 else 'es'} started by the app" + (", the first here:" if first else "")],
            expected=[f"at least {at_least} queries made in the app's own process: waiting on a database needs a thread "
                      "or an async driver, not a process. A process pool is for computing; each of its workers costs a "
                      "start and memory, and every argument and row is copied across to it and back"],
            extra=place_lines(first) if first else [],
            show_timeline=False,
        )

    def expect_rows(self, run: Any, sql: str, params: tuple[Any, ...], expected: list[tuple[Any, ...]], *, headline: str) -> None:
        """The database holds exactly `expected` for this query (read directly, after the run)."""
        __tracebackhide__ = True
        rows = self.query(sql, params)
        if rows != expected:
            run.fail(
                headline,
                measured=[f"the database holds {_rows_text(rows)}"],
                expected=[f"it holds {_rows_text(expected)}"],
                show_timeline=False,
            )

    def expect_no_loop_queries(self, run: Any) -> None:
        """While `run` lasted, no query ran on the event loop's thread (a synchronous query inside
        `async def`)."""
        __tracebackhide__ = True
        during = [q for q in self.loop_queries if run.began <= q.started <= run.ended]
        if during:
            first = during[0]
            where = [f"  {first.place.short()} in {first.place.function}()", f"      {first.place.code}"] if first.place else []
            run.fail(
                f"{len(during)} database quer{'y' if len(during) == 1 else 'ies'} "
                "ran on the event loop's thread, blocking it.",
                measured=[f"{len(during)} synchronous queries on the loop, {first.wall_ms:.0f} ms wall "
                          f"against {first.cpu_ms:.0f} ms CPU each"],
                expected=["queries run in a worker thread or through an async driver"],
                extra=["The query that blocked:", *where],
            )

    def when_answered(self, sql: str, params_of: Callable[[Any], tuple[Any, ...]]) -> AnswerSnapshot:
        """What `sql` returns the moment each answer is sent (see `AnswerSnapshot`)."""
        return AnswerSnapshot(self, sql, params_of)

    def expect_stored_before_answer(self, run: Any, snapshot: AnswerSnapshot, expected: list[tuple[Any, ...]], *, what: str) -> None:
        """When each request's answer was sent, the database already held `expected` for it:
        the work was done before the answer, not left for after it (a background task, say)."""
        __tracebackhide__ = True
        for record in run.requests:
            rows = snapshot.rows.get(record.index)
            if rows is None or rows == expected:
                continue
            key = snapshot.params[record.index]
            writes = [q for q in self.queries_between(run.began, float("inf")) if _writes(q.sql) and set(key) <= set(q.params)]
            measured = [f"when {record.label} sent its {record.status}, the database held {_rows_text(rows)} for {what} {key[0]}"]
            if writes and record.answered is not None:
                late = (writes[0].finished or record.answered) - record.answered
                measured.append(f"the write of {what} {key[0]} came back from the database {late:.2f} s after the answer was sent")
            run.fail(
                f"{record.label} answered {record.status} before {what} {key[0]} was stored.",
                measured=measured,
                expected=[f"the {what} is in the database before the answer is sent, not saved after it"],
                show_timeline=False,
            )

    def expect_queries_together(self, run: Any, *, at_least: int, matching: str = "", what: str = "queries") -> None:
        """While `run` lasted, at least `at_least` of its `what` (queries whose SQL holds
        `matching`) were in flight at the database at the same moment: the requests waited on
        the database side by side, not in turn."""
        __tracebackhide__ = True
        peak = self.peak_between(run.began, run.ended, matching)
        if peak >= at_least:
            return
        queries = self.queries_between(run.began, run.ended, matching)
        if len(queries) < at_least and not run.timed_out:
            # Not waiting their turn: never made. That is what to say.
            self.expect_queries(run, at_least=at_least)
        trips = run.wall_s / self.latency_s if self.latency_s else 0.0
        how = "one after another" if peak <= 1 else f"no more than {peak} at a time"
        extra: list[str] = []
        if run.max_in_flight >= at_least and not run.blocks:
            # The requests were not held up on the way in, so the timeline alone would not show it.
            waited = waiting_lines(queries, "Where your code waited while the queries ran:")
            threads = thread_lines(queries, "Where the app's other threads waited while one query ran:")
            waited += ([""] if waited and threads else []) + threads
            extra = [in_turn(run.max_in_flight, "their queries", peak), *([""] + waited if waited else []), "",
                     *self.query_lines(run.began, run.ended, matching)]
        run.fail(
            f"The database received the {len(queries)} {what} {how}.",
            measured=[
                f"at most {peak} of them in flight at the database at once",
                f"all {len(run.requests)} requests took {run.wall_s:.2f} s, {trips:.1f} times one round trip ({self.latency_s:.2f} s)",
            ],
            expected=[
                f"at least {at_least} {what} in flight together, so the burst takes a few round trips, "
                f"not one per request"
            ],
            extra=extra,
            busy_may_explain=True,
            # The queries wait in threads of their own (a driver's, a pool's): theirs count too.
            busy_share=run.busiest_share,
        )

    def query_lines(self, began: float, ended: float, matching: str = "") -> list[str]:
        """One row per query on the run's time axis: `█` while it was in flight."""
        queries = self.queries_between(began, ended, matching)
        if not queries:
            return ["The database received no queries."]
        spans = [(_label(q.sql), q.started, q.finished, "on the loop" if q.on_loop else "") for q in sorted(queries, key=lambda q: q.started)]
        return span_lines("Queries the database received", "query", spans, began, ended)


def _writes(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))


def _label(sql: str) -> str:
    words = " ".join(sql.split())
    return words if len(words) <= 40 else words[:39] + "…"


def _rows_text(rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "no row"
    return ", ".join(repr(row) for row in rows)
