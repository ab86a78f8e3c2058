"""Slow storage's checks: what the app's reads did, against what a kata expects, explained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi_async_katas.engine.explaining import plural
from fastapi_async_katas.engine.misconceptions import in_turn
from fastapi_async_katas.engine.records import max_overlap
from fastapi_async_katas.engine.userfiles import Place
from fastapi_async_katas.world.waiting import waiting_lines

FEW_READS = "{requests} requests made only {reads} from storage."
READS_IN_TURN = "The file reads waited on storage {how}."
SLOW_PROBE = "Even the fastest {probe} took {seconds:.2f} s to answer while files were being read from storage."
LOOP_BLOCKED = "The event loop was blocked while files were being read from storage."
NOT_FOUND_BUT_THERE = "{label} answered 404, but {name} is on the storage."
NOT_REGULAR = (
    "Two ways to miss a file that is there. One: looking before reading. On this storage a file is not a regular "
    "file (`is_file()` is false, its size reads 0, as on some network shares), while `exists()` is true and "
    "opening it reads its content: so open it, and answer 404 on FileNotFoundError. Two: reading the files once, "
    "earlier (at startup, say), which misses every file put there since: read it when it is asked for."
)


@dataclass
class FileRead:
    """One read the storage served: which file, when the reader opened it, when it got the end,
    and the lines of the app that were waiting meanwhile (where known)."""

    name: str
    started: float
    finished: float = 0.0
    waiting_in_app: list[Place] | None = None
    # How many of the app's tasks were waiting in its code meanwhile (one per line of work).
    tasks_waiting: int = 0

    @property
    def label(self) -> str:
        return self.name


class StorageChecks:
    """The `expect_*` checks of a `SlowStorage`, kept apart from serving the files."""

    _files: dict[str, Any]

    def reads_between(self, start: float, end: float) -> list[FileRead]:
        raise NotImplementedError

    def peak_between(self, start: float, end: float) -> int:
        raise NotImplementedError

    def expect_reads(self, run: Any, *, at_least: int) -> None:
        """While `run` lasted, the app read at least this many files (no cache, no skipped work)."""
        __tracebackhide__ = True
        count = len(self.reads_between(run.began, run.ended))
        if count < at_least:
            run.fail(
                FEW_READS.format(requests=len(run.requests), reads=plural(count, "read")),
                measured=[f"{plural(count, 'file read')} reached the storage while the requests ran"],
                expected=[f"each request reads its file from storage: at least {at_least} reads"],
                show_timeline=False,
            )

    def expect_served(self, run: Any, name: str) -> None:
        """No request of `run` was answered 404 while the file `name` was on the storage."""
        __tracebackhide__ = True
        missing = [r for r in run.requests if r.status == 404]
        if missing and name in self._files:
            read = any(r.name == name for r in self.reads_between(run.began, run.ended))
            run.fail(
                NOT_FOUND_BUT_THERE.format(label=missing[0].label, name=name),
                measured=[f"{name} is on the storage (`exists()` is true); the app {'read it, then' if read else 'never read it, and'} answered 404"],
                expected=["200 with the file's content: a file that is there is found"],
                extra=[NOT_REGULAR],
                show_timeline=False,
            )

    def expect_reads_together(self, run: Any, *, at_least: int) -> None:
        """At some moment during `run`, at least this many file reads were waiting on storage together."""
        __tracebackhide__ = True
        peak = self.peak_between(run.began, run.ended)
        if peak < at_least:
            in_app = max_overlap((r.started, r.finished or run.ended) for r in run.requests if r.started is not None and "/health" not in r.path)
            extra: list[str] = []
            if in_app >= at_least and not run.blocks:
                waited = waiting_lines(self.reads_between(run.began, run.ended), "Where your code waited while the files were read:")
                extra = [in_turn(in_app, "their reads", peak), *([""] + waited if waited else [])]
            run.fail(
                READS_IN_TURN.format(how="one after another" if peak <= 1 else "mostly in turn"),
                measured=[f"at most {plural(peak, 'read')} in flight at once; all {len(run.requests)} requests took {run.wall_s:.2f} s"],
                expected=[f"at least {at_least} reads waiting on storage at the same time"],
                extra=extra,
                busy_may_explain=True,
            )

    def expect_responsive(self, run: Any, *, probe: str = "/health", within_s: float = 0.1) -> None:
        """Requests for `probe` were answered within `within_s` while files were being read,
        and no step of the event loop was blocked by the app's code.

        The fastest probe is judged, so one probe slowed by a busy machine does not fail a
        correct app; an app that blocks the loop on every read slows them all.
        """
        __tracebackhide__ = True
        probes = [r for r in run.requests if r.path == probe]
        if not probes:
            raise ValueError(f"the run has no request for {probe!r} to judge; fire some with the others")
        latencies = [r.latency_s for r in probes if r.latency_s is not None]
        quickest = min(probes, key=lambda r: r.latency_s if r.latency_s is not None else float("inf"))
        fastest = quickest.latency_s if quickest.latency_s is not None else float("inf")
        if fastest <= within_s and not run.blocks:
            return
        label = f"{probes[0].method} {probe}"
        reads = len(self.reads_between(run.began, run.ended))
        measured = [f"{plural(len(probes), label + ' probe')} answered in {_seconds_list(latencies)}, "
                    f"while {plural(reads, 'file')} were read from storage"]
        if run.blocks:
            longest = max(b.wall_ms for b in run.blocks)
            times = "once" if len(run.blocks) == 1 else f"{len(run.blocks)} times"
            measured.append(f"the event loop was blocked {times}, the longest for {longest:.0f} ms")
        headline = SLOW_PROBE.format(probe=label, seconds=fastest) if fastest > within_s else LOOP_BLOCKED
        which = _and_list([f"#{r.index}" for r in probes])
        run.fail(
            headline,
            extra=[f"In the timeline below, {which} {'is the probe' if len(probes) == 1 else 'are the probes'} ({label})."],
            measured=measured,
            expected=[f"{label} answers within {within_s:.2f} s, even while files are being read",
                      f"no step of the event loop longer than {run.block_ms:.0f} ms"],
            busy_may_explain=True,
            # The probe judged is the quickest: a busy stretch that slowed it is not watered down
            # by the run's quiet rest (each probe is a tenth of a second of a run of seconds).
            busy_share=max(run.busy_share, quickest.busy_share),
        )


def _seconds_list(values: list[float]) -> str:
    if not values:
        return "no time at all (none answered)"
    return _and_list([f"{v:.2f} s" for v in sorted(values)])


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
