"""`katas probe`'s report as text: the requests, what blocked the loop and where, and what else
went wrong (errors, hangs, coroutines never awaited, blocks at startup)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi_async_katas.commands.probe_json import failed
from fastapi_async_katas.commands.probing import ProbeResult
from fastapi_async_katas.engine.explaining import (
    block_lines,
    chain_text,
    error_lines,
    place_lines,
    timeline_lines,
    unawaited_lines,
)
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.userfiles import display_path

# Past this many requests the timeline rows say little: latency figures stand in for them.
TIMELINE_UP_TO = 40
EACH_BLOCK_ROWS = 30
NO_BLOCKS = "No step of the event loop took {block_ms:g} ms or more in your code: it stayed free to serve others."
# Steps as long as blocks that the sampler never saw: while requests were served, or while the app started.
UNSEEN_STEPS = (
    "{count} step(s) of the event loop ran long enough to block, the longest {wall_ms:.0f} ms ({cpu_ms:.0f} ms of it "
    "computing), while the sampler that tells whose code it was never got a CPU. Run the probe again on a quieter machine."
)
UNJUDGED_STEPS = "No block was pinned on a line of yours, but this machine was too busy to judge: " + UNSEEN_STEPS
NO_BLOCKS_BUT_WAITED = (
    "No single step of the event loop took {block_ms:g} ms or more in your code, yet requests waited up to "
    "{waited_ms:.0f} ms to get into the app: the loop was kept busy by many shorter steps (yours, the server's "
    "or this probe's), or stalled while another thread held the GIL. A lower --block-ms shows the shorter steps."
)
BUSY_MACHINE_WAITED = (
    "No single step of the event loop took {block_ms:g} ms or more in your code. Requests waited up to "
    "{waited_ms:.0f} ms to get into the app, but for {busy_ms:.0f} ms of that the loop itself waited for a CPU: "
    "this machine was too busy to tell whether the loop stayed free. Run the probe again on a quieter machine."
)
STARTUP_BLOCKS = "While the app started (before any request):"
STILL_WAITING = "{count} still unanswered after {seconds:g} s, waiting at:"
INTERRUPTED = "Interrupted: {sent} measured; {left_out} not yet sent were left out."
STOPPED_WAITING = "{count} still unanswered when the probe was stopped, waiting at:"
SERVER_ERRORS = "{count} answered with a server error (5xx) without raising: {statuses}."


def report_lines(result: ProbeResult, target: str, block_ms: float) -> list[str]:
    """The probe's report as text: timeline, figures, and each block with its line."""
    run = result.run
    n = len(run.requests)
    lines = [f"Probe: {result.load.describe()}, on {target}", ""]
    if result.interrupted:
        lines += [INTERRUPTED.format(sent=_requests(n), left_out=run.left_out), ""]
    if 1 < n <= TIMELINE_UP_TO:
        lines += [*timeline_lines(run.requests, run.began, run.ended), ""]
    statuses = ", ".join(f"{count}× {status}" for status, count in sorted(run.status_counts.items()))
    lines.append(f"{_requests(n)} in {run.wall_s:.2f} s; at most {run.max_in_flight} in the app at once; status: {statuses or 'none'}")
    latencies = sorted(run.latencies_s)
    if n > TIMELINE_UP_TO and latencies:
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        lines.append(f"latency: median {latencies[len(latencies) // 2]:.3f} s, 95th percentile {p95:.3f} s, slowest {latencies[-1]:.3f} s")
    lines.append("")
    if run.blocks:
        out_of = n if result.load.duration_s is not None or n > 1 else None
        lines += block_lines(run.blocks, remedies=True, out_of=out_of)
        lines += ["", *each_block_lines(run.blocks)]
    else:
        lines.append(no_blocks_text(run, block_ms))
    if run.unawaited:
        lines += ["", *unawaited_lines(run.unawaited)]
    errors = error_lines(run.requests)
    if errors:
        lines += ["", *errors]
    quiet = [r for r in run.requests if failed(r) and r.error is None]
    if quiet:
        lines += ["", SERVER_ERRORS.format(count=_requests(len(quiet)), statuses=", ".join(sorted({str(r.status) for r in quiet})))]
    if run.timed_out:
        lines += ["", *waiting_lines(run)]
    if result.startup_blocks or result.startup_unjudged:
        lines += ["", STARTUP_BLOCKS]
    if result.startup_blocks:
        lines += ["  " + line for line in block_lines(result.startup_blocks, remedies=True)]
    if result.startup_unjudged:
        lines.append("  " + unseen_text(result.startup_unjudged))
    return lines


def unseen_text(unjudged: Sequence[Block]) -> str:
    """What the steps the sampler never saw were: how many, and the longest of them."""
    return UNSEEN_STEPS.format(**_unseen_figures(unjudged))


def _unseen_figures(unjudged: Sequence[Block]) -> dict[str, Any]:
    worst = max(unjudged, key=lambda b: b.wall_ms)
    return {"count": len(unjudged), "wall_ms": worst.wall_ms, "cpu_ms": worst.cpu_ms}


def no_blocks_text(run: Run, block_ms: float) -> str:
    """No block was seen: say the loop stayed free only if no step went unseen and no request
    waited long to get in; a wait that was the loop's own wait for a CPU is the machine's."""
    if run.unjudged:
        return UNJUDGED_STEPS.format(**_unseen_figures(run.unjudged))
    # Each request's wait to get in, and the part of it the loop thread waited for a CPU.
    waits = [((r.started - r.fired) * 1000, r.busy_to_start_s * 1000) for r in run.requests if r.started is not None and r.fired is not None]
    waited_ms, busy_ms = max(waits, key=lambda w: w[0] - w[1], default=(0.0, 0.0))
    if waited_ms - busy_ms >= block_ms:
        return NO_BLOCKS_BUT_WAITED.format(block_ms=block_ms, waited_ms=waited_ms)
    waited_ms, busy_ms = max(waits, default=(0.0, 0.0))
    if waited_ms >= block_ms:
        return BUSY_MACHINE_WAITED.format(block_ms=block_ms, waited_ms=waited_ms, busy_ms=busy_ms)
    return NO_BLOCKS.format(block_ms=block_ms)


def waiting_lines(run: Run) -> list[str]:
    """Where the requests still unanswered at the deadline were waiting, one line each place."""
    places: dict[Any, int] = {}
    for record in run.timed_out:
        key = (record.waiting_at, record.waiting_chain)
        places[key] = places.get(key, 0) + 1
    count = _requests(len(run.timed_out))
    lines = [STOPPED_WAITING.format(count=count) if run.stopped else STILL_WAITING.format(count=count, seconds=run.timeout_s)]
    for (place, chain), n in places.items():
        lines += [f"  {_requests(n)}:", *["  " + line for line in place_lines(place)]]
        if len(chain) > 1:
            lines.append("        " + chain_text(chain))
    return lines


def each_block_lines(blocks: list[Block]) -> list[str]:
    """One row per blocked step, in the order they happened."""
    wheres = [f"{display_path(b.place.file)}:{b.place.line} in {b.place.function}()" if b.place else "(between your lines)" for b in blocks]
    width = max(len(where) for where in wheres)
    lines = [f"Each block ({len(blocks)}):", f"  {'#':>3}  {'where':<{width}}  {'wall_ms':>8}  {'cpu_ms':>8}  kind"]
    for i, (block, where) in enumerate(zip(blocks, wheres), 1):
        if i > EACH_BLOCK_ROWS:
            lines.append(f"  … and {len(blocks) - EACH_BLOCK_ROWS} more (all of them are in --json)")
            break
        lines.append(f"  {i:>3}  {where:<{width}}  {block.wall_ms:>8.1f}  {block.cpu_ms:>8.1f}  {block.kind}")
    return lines


def _requests(n: int) -> str:
    return f"{n} request" if n == 1 else f"{n} requests"
