"""Turn measurements into the lines a learner reads. Plain functions, so each is unit-tested."""

from __future__ import annotations

import traceback
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Protocol

from fastapi_async_katas.engine.awaits import Unawaited
from fastapi_async_katas.engine.exits import TRIED_TO_EXIT, AppExited
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.misconceptions import about_a_block
from fastapi_async_katas.engine.records import RequestRecord, kind_seen_by_samples
from fastapi_async_katas.engine.remedies import remedy_for
from fastapi_async_katas.engine.userfiles import Place, UserFiles

TIMELINE_WIDTH = 48
TIMELINE_MAX_ROWS = 24
WAIT, BUSY, STUCK = "·", "█", "?"
CPU_SHARE = 0.5
ABOUT_EQUAL = 0.8
MISSING_AWAIT = "    The route returned a coroutine object instead of its result: an `await` is missing."


class Explained(Protocol):
    """What a failure explains of a burst of requests (a `Run` is one)."""

    requests: list[RequestRecord]
    began: float
    ended: float
    blocks: list[Block]
    unawaited: list[Unawaited]

    @property
    def timeline_requests(self) -> list[RequestRecord]: ...


def failure_lines(
    headline: str,
    *,
    measured: Iterable[str] = (),
    expected: Iterable[str] = (),
    run: Explained | None = None,
    show_timeline: bool = True,
    extra: Iterable[str] = (),
) -> list[str]:
    """The whole explanation of a failed check, top to bottom."""
    lines = [headline]
    lines += [f"  measured: {m}" for m in measured]
    lines += [f"  expected: {e}" for e in expected]
    extra = list(extra)
    if extra:
        lines += ["", *extra]
    if run is not None:
        if show_timeline and len(run.timeline_requests) > 1:
            lines += ["", *timeline_lines(run.timeline_requests, run.began, run.ended)]
        if run.blocks:
            lines += ["", *block_lines(run.blocks)]
        if run.unawaited:
            lines += ["", *unawaited_lines(run.unawaited)]
        errors = error_lines(run.requests)
        if errors:
            lines += ["", *errors]
    return lines


def timeline_lines(requests: Sequence[RequestRecord], began: float, ended: float) -> list[str]:
    """One row per request: `·` while it waited for the app, `█` while the app handled it."""
    span = max(ended - began, 1e-6)
    scale = TIMELINE_WIDTH / span
    shown = list(requests)
    note = ""
    if len(shown) > TIMELINE_MAX_ROWS:
        step = len(shown) / TIMELINE_MAX_ROWS
        shown = [shown[int(i * step)] for i in range(TIMELINE_MAX_ROWS)]
        note = f", {TIMELINE_MAX_ROWS} of {len(requests)} shown"
    lines = [f"Timeline (one row per request{note}; {WAIT} waiting for the app, {BUSY} being handled; 0 to {span:.2f} s):"]
    digits = len(str(requests[-1].index)) if requests else 1
    mixed = len({r.path for r in requests}) > 1
    for r in shown:
        fired = r.fired if r.fired is not None else began
        # Being handled from when its route had it, as requests in flight are counted: a
        # middleware may take a request in long before the route can serve it.
        started = r.routed if r.routed is not None else r.started
        finished = r.finished if r.finished is not None else ended
        cells = [" "] * TIMELINE_WIDTH

        def col(t: float) -> int:
            return min(TIMELINE_WIDTH - 1, max(0, int((t - began) * scale)))

        wait_end = started if started is not None else finished
        for c in range(col(fired), col(wait_end) + 1):
            cells[c] = WAIT
        if started is not None:
            for c in range(col(started), col(finished) + 1):
                cells[c] = BUSY
        if r.timed_out:
            cells[-1] = STUCK
        outcome = "timed out" if r.timed_out else str(r.status)
        latency = f"{r.latency_s:5.2f} s" if r.latency_s is not None else "   -   "
        label = f"  {r.label}" if mixed else ""
        lines.append(f"  #{r.index:<{digits}} |{''.join(cells)}| {latency}  {outcome}{label}")
    return lines


def span_lines(title: str, noun: str, spans: Sequence[tuple[str, float, float | None, str]], began: float, ended: float) -> list[str]:
    """One row per span (label, start, end or None if still going, outcome) on a run's time axis:
    `█` while it lasted. Used for what a world part saw: calls to an upstream, database queries."""
    ended = max([ended, *(end for _, _, end, _ in spans if end is not None)])
    span = max(ended - began, 1e-6)
    shown, note = list(spans), ""
    if len(shown) > TIMELINE_MAX_ROWS:
        step = len(shown) / TIMELINE_MAX_ROWS
        shown = [spans[int(i * step)] for i in range(TIMELINE_MAX_ROWS)]
        note = f", {TIMELINE_MAX_ROWS} of {len(spans)} shown"
    width = max(len(label) for label, _, _, _ in shown)

    def col(t: float) -> int:
        return min(TIMELINE_WIDTH - 1, max(0, int((t - began) / span * TIMELINE_WIDTH)))

    lines = [f"{title} (one row per {noun}{note}; {BUSY} in flight; 0 to {span:.2f} s):"]
    for label, start, end, outcome in shown:
        cells = [" "] * TIMELINE_WIDTH
        for i in range(col(start), col(end if end is not None else ended) + 1):
            cells[i] = BUSY
        if end is None:
            cells[-1] = STUCK
        took = f"{end - start:5.2f} s" if end is not None else "   -   "
        lines.append(f"  {label:<{width}} |{''.join(cells)}| {took}  {outcome}".rstrip())
    return lines


def block_lines(blocks: Sequence[Block], relative_to: str | None = None, *, remedies: bool = False, out_of: int | None = None) -> list[str]:
    """Blocked loop steps, grouped by the line they were blamed on; with `remedies`, what usually
    helps; with `out_of` (the requests sent), in how many of them each line blocked."""
    groups: dict[tuple[Place | None, tuple[Place, ...]], list[Block]] = defaultdict(list)
    for block in blocks:
        groups[(block.place, block.chain)].append(block)
    total_s = sum(b.wall_ms for b in blocks) / 1000
    times = "once" if len(blocks) == 1 else f"{len(blocks)} times"
    lines = [f"The event loop was blocked {times} ({total_s:.2f} s in all), by:"]
    for (place, chain), group in sorted(groups.items(), key=lambda kv: -sum(b.wall_ms for b in kv[1])):
        lines += _one_place(place, chain, group, relative_to, remedies, out_of)
    return lines


def plural(n: int, noun: str) -> str:
    """"1 call", "2 calls": a count and its noun."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def figures(values: Sequence[float], what: str = "") -> str:
    """A few figures in ms as one: `120 ms wall`, `120 ms wall each`, or `95–140 ms wall` when they differ."""
    low, high = round(min(values)), round(max(values))
    named = f" {what}" if what else ""
    if low == high:
        return f"{low} ms{named}" + (" each" if len(values) > 1 else "")
    return f"{low}–{high} ms{named}"


def group_kind(group: Sequence[Block]) -> str:
    """The group's kind, from its CPU time against the time its steps had a CPU, summed."""
    running = sum(b.ran_ms for b in group)
    cpu = sum(b.cpu_ms for b in group)
    kinds = [b.kind for b in group]
    if kinds.count("gil") * 2 > len(kinds):
        return "gil"
    if running and cpu >= CPU_SHARE * running:
        return "cpu"
    if all(b.gil_measured for b in group):
        return kind_seen_by_samples(sum(b.waiting_own_ms for b in group), cpu)
    return "io"


def _one_place(
    place: Place | None, chain: tuple[Place, ...], group: list[Block], relative_to: str | None, remedies: bool, out_of: int | None
) -> list[str]:
    lines = place_lines(place, relative_to)
    if len(chain) > 1:
        lines.append("      " + chain_text(chain, relative_to))
    count = "1 block" if len(group) == 1 else f"{len(group)} blocks"
    seen = ""
    if out_of is not None:
        seen = f"; seen in {seen_in(group)} of {out_of} requests"
    lines.append(f"      {count}: {figures([b.wall_ms for b in group], 'wall')} against {figures([b.cpu_ms for b in group], 'CPU')}{seen}")
    waited = [b.waiting_for_cpu_ms for b in group]
    if max(waited) >= 0.2 * min(b.wall_ms for b in group):
        lines.append(
            f"      (of that wall time, the loop thread was ready but waited {figures(waited)} for a CPU core: "
            "this machine is busy, so read the CPU time against the time it ran.)"
        )
    held_off = [b.waiting_for_gil_ms for b in group]
    if max(held_off) >= 0.2 * min(b.wall_ms for b in group):
        lines.append(f"      (of that wall time, the loop thread waited {figures(held_off)} for the GIL while other threads of this process ran Python.)")
    kind = group_kind(group)
    lines.append("      " + kind_text(kind, group))
    holder = next((b for b in group if b.held_by), None)
    if kind == "gil" and holder is not None:
        if holder.held_by_place == place:
            where = ", handed over on this line"
        elif holder.held_by_place is not None:
            where = f", handed to a thread at {holder.held_by_place.short(relative_to)}: {holder.held_by_place.code}"
        else:
            where = ""
        lines.append(f"      The thread was running {holder.held_by}(){where}.")
    lines += ["      " + sentence for sentence in about_a_block(chain or ((place,) if place else ()))]
    if remedies and place is not None:
        remedy = remedy_for(place.code, kind)
        if remedy is not None:
            lines.append(f"      What usually helps ({remedy.call}): {remedy.text}.")
    return lines


def seen_in(blocks: Sequence[Block]) -> int:
    """In how many distinct requests these blocks were seen (a block between requests counts in none)."""
    return len({b.request for b in blocks if b.request is not None})


def chain_text(chain: Sequence[Place], relative_to: str | None = None) -> str:
    """How the server got to the blamed line through the user's code, outermost first."""
    return "called by way of: " + " → ".join(f"{p.short(relative_to)} in {p.function}()" for p in chain)


def kind_text(kind: str, group: Sequence[Block] = ()) -> str:
    if kind == "gil":
        return "another thread held the GIL while it computed, and the loop waited for it: threads do not run Python in parallel."
    if kind == "cpu":
        running = sum(b.ran_ms for b in group)
        cpu = sum(b.cpu_ms for b in group)
        share = "about equal to" if not group or cpu >= ABOUT_EQUAL * running else "most of"
        return f"CPU time {share} the time it ran: the loop was busy computing, so nothing else could run."
    return "wall time far above CPU time: the loop sat waiting (on I/O, a sleep or a lock) and could not serve anyone else."


def place_lines(place: Place | None, relative_to: str | None = None) -> list[str]:
    if place is None:
        return ["  (no line of yours was running: the loop was held up in library code, or between its steps)"]
    return [f"  {place.short(relative_to)} in {place.function}()", f"      {place.code}"]


def unawaited_lines(unawaited: Sequence[Unawaited]) -> list[str]:
    """Coroutines never awaited, once per place that created them, with a count."""
    counts: dict[tuple[str, Place | None], int] = {}
    for item in unawaited:
        key = (item.name, item.created_at)
        counts[key] = counts.get(key, 0) + 1
    lines = ["Coroutines created but never awaited (they never ran):"]
    for (name, place), count in counts.items():
        lines.append(f"  {name}()" + (f" ({count} times)" if count > 1 else ""))
        if place is not None:
            lines += ["  " + line for line in place_lines(place)]
    return lines


EXCEPTION_GROUP = "A task group raises its tasks' errors together, in an ExceptionGroup: `except SomeError:` does not catch it, `except* SomeError:` does."


def error_lines(requests: Sequence[RequestRecord], user_files: UserFiles | None = None) -> list[str]:
    """Exceptions the app raised while handling requests, once per distinct error."""
    seen: dict[str, int] = {}
    first: dict[str, RequestRecord] = {}
    for r in requests:
        if r.error is None:
            continue
        key = f"{type(r.error).__name__}: {r.error}"
        seen[key] = seen.get(key, 0) + 1
        first.setdefault(key, r)
    if not seen:
        return []
    lines = ["Errors raised by the app:"]
    files = user_files or UserFiles()
    for key, count in seen.items():
        r = first[key]
        times = "" if count == 1 else f" ({count} requests)"
        lines.append(f"  {r.label} → {key}{times}")
        place = raised_at(r.error, files)
        if place is not None:
            lines += ["  " + line for line in place_lines(place)]
        if isinstance(r.error, BaseExceptionGroup):
            lines.append(f"    {EXCEPTION_GROUP}")
            for sub in r.error.exceptions[:3]:  # what a task group's tasks raised
                lines.append(f"    inside it: {type(sub).__name__}: {(str(sub).splitlines() or [''])[0][:200]}")
                sub_place = raised_at(sub, files)
                if sub_place is not None:
                    lines += ["    " + line for line in place_lines(sub_place)]
        if "'coroutine' object" in key:
            lines.append(MISSING_AWAIT)
        if isinstance(r.error, (SystemExit, AppExited)):
            lines.append("    " + TRIED_TO_EXIT)
    return lines


def raised_at(exc: BaseException | None, user_files: UserFiles) -> Place | None:
    """The innermost user line in an exception's traceback."""
    place = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__ if exc is not None else None):
        if frame.f_code.co_filename in user_files:
            place = Place(frame.f_code.co_filename, lineno, frame.f_code.co_name)
    return place
