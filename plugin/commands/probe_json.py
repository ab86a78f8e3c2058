"""`katas probe --json`: everything the text report shows, as one versioned JSON object.

The schema is documented in the README ("The probe's JSON"); `FORMAT` changes whenever a key
changes meaning or goes away (new keys may be added within a format). Paths are shown as in
the text: relative to the working folder when under it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi_async_katas.commands.probing import ProbeResult
from fastapi_async_katas.engine.explaining import group_kind, raised_at, seen_in
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.records import RequestRecord
from fastapi_async_katas.engine.remedies import remedy_for
from fastapi_async_katas.engine.userfiles import Place, UserFiles, display_path

FORMAT = 1
KEYS = (
    "format", "target", "load", "interrupted", "requests", "left_out", "wall_s", "max_in_flight", "status_counts",
    "latency_s", "block_ms", "blocks", "unjudged", "block_places", "startup_blocks", "startup_unjudged", "unawaited", "errors", "timeouts", "findings",
)
ERROR_KEYS = ("format", "target", "error")
# What `--fail-on` can choose from, in the order they are reported; `--strict` is the first four.
FINDINGS = ("blocks", "errors", "timeouts", "unawaited", "startup")
STRICT = FINDINGS[:4]


def findings(result: ProbeResult) -> list[str]:
    """The kinds of trouble this probe found, of `FINDINGS`: `blocks` while requests were served,
    `startup` for blocks while the app started."""
    run = result.run
    found = {
        "blocks": bool(run.blocks or run.unjudged),  # a step too long to call the loop free, seen or not
        "errors": any(failed(r) for r in run.requests),
        "timeouts": bool(run.timed_out),
        "unawaited": bool(run.unawaited),
        "startup": bool(result.startup_blocks or result.startup_unjudged),  # seen or not, as `blocks`
    }
    return [name for name in FINDINGS if found[name]]


def error_json(target: str, kind: str, message: str, place: Place | None = None) -> dict[str, Any]:
    """What `--json` prints when there is nothing measured: the target could not be loaded
    (`target`), the app could not start (`startup`), the probe ran out of time (`timeout`), or
    Ctrl-C came while the app loaded, or twice (`interrupted`)."""
    return {"format": FORMAT, "target": target, "error": {"kind": kind, "message": message, **place_json(place)}}


def failed(record: RequestRecord) -> bool:
    """The app raised, or answered with a server error (5xx)."""
    return record.error is not None or (record.status is not None and record.status >= 500)


def as_json(result: ProbeResult, target: str, block_ms: float, user_files: UserFiles | None = None) -> dict[str, Any]:
    run, load = result.run, result.load
    latencies = sorted(run.latencies_s)
    return {
        "format": FORMAT,
        "target": target,
        "load": {
            "method": load.method,
            "path": load.path,
            "n": load.n if load.duration_s is None else None,
            "duration_s": load.duration_s,
            "rate": load.rate if load.duration_s is not None else None,
        },
        "interrupted": result.interrupted,
        "requests": len(run.requests),
        "left_out": run.left_out,
        "wall_s": round(run.wall_s, 3),
        "max_in_flight": run.max_in_flight,
        "status_counts": run.status_counts,
        "latency_s": _latency(latencies),
        "block_ms": block_ms,
        "blocks": [block_json(b) for b in run.blocks],
        # Steps as long as blocks that the sampler never saw (a machine too busy): whose code it was is not known.
        "unjudged": [block_json(b) for b in run.unjudged],
        "block_places": places_json(run.blocks, len(run.requests)),
        "startup_blocks": [block_json(b) for b in result.startup_blocks],
        "startup_unjudged": [block_json(b) for b in result.startup_unjudged],
        "unawaited": _unawaited(result),
        "errors": _errors(run.requests, user_files or UserFiles()),
        "timeouts": _timeouts(run.timed_out),
        "findings": findings(result),
    }


def place_json(place: Place | None) -> dict[str, Any]:
    if place is None:
        return {"file": None, "line": None, "function": None, "code": None}
    return {"file": display_path(place.file), "line": place.line, "function": place.function, "code": place.code}


def block_json(block: Block) -> dict[str, Any]:
    remedy = remedy_for(block.place.code, block.kind) if block.place else None
    return {
        **place_json(block.place),
        "wall_ms": round(block.wall_ms, 1),
        "cpu_ms": round(block.cpu_ms, 1),
        "kind": block.kind,
        "chain": [place_json(p) for p in block.chain],
        "held_by": {"work": block.held_by, **place_json(block.held_by_place)} if block.kind == "gil" else None,
        "request": block.request,
        "remedy": remedy.text if remedy else None,
    }


def places_json(blocks: Sequence[Block], requests: int) -> list[dict[str, Any]]:
    """One entry per blamed line (and chain), the worst first: how often, and in how many requests."""
    groups: dict[tuple[Place | None, tuple[Place, ...]], list[Block]] = {}
    for block in blocks:
        groups.setdefault((block.place, block.chain), []).append(block)
    entries = []
    for (place, chain), group in sorted(groups.items(), key=lambda kv: -sum(b.wall_ms for b in kv[1])):
        kind = group_kind(group)
        remedy = remedy_for(place.code, kind) if place else None
        entries.append({
            **place_json(place),
            "kind": kind,
            "blocks": len(group),
            "seen_in_requests": seen_in(group),
            "of_requests": requests,
            "wall_ms_max": round(max(b.wall_ms for b in group), 1),
            "wall_ms_total": round(sum(b.wall_ms for b in group), 1),
            "chain": [place_json(p) for p in chain],
            "remedy": remedy.text if remedy else None,
        })
    return entries


def _latency(latencies: list[float]) -> dict[str, float] | None:
    if not latencies:
        return None
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return {"p50": round(statistics.median(latencies), 3), "p95": round(p95, 3), "max": round(latencies[-1], 3)}


def _unawaited(result: ProbeResult) -> list[dict[str, Any]]:
    counts = Counter((u.name, u.created_at) for u in result.run.unawaited)
    return [{"coroutine": name, **place_json(place), "count": count} for (name, place), count in counts.items()]


def _errors(records: Sequence[RequestRecord], user_files: UserFiles) -> list[dict[str, Any]]:
    """Each distinct exception the app raised, with the innermost line of the user's that raised it."""
    groups: dict[tuple[str, str], list[RequestRecord]] = {}
    for record in records:
        if record.error is not None:
            groups.setdefault((type(record.error).__name__, str(record.error)), []).append(record)
    return [
        {"type": kind, "message": message, **place_json(raised_at(group[0].error, user_files)),
         "requests": len(group), "first_request": group[0].label}
        for (kind, message), group in groups.items()
    ]


def _timeouts(records: Sequence[RequestRecord]) -> list[dict[str, Any]]:
    """The requests still unanswered at the deadline (or when stopped), by where each was waiting."""
    counts = Counter((r.waiting_at, r.waiting_chain) for r in records)
    return [
        {"requests": count, **place_json(place), "chain": [place_json(p) for p in chain]}
        for (place, chain), count in counts.items()
    ]
