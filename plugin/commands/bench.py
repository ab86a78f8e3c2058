"""`katas bench NN`: why the fix matters, in numbers.

The kata's shipped app, the learner's current app and the reference solution are each served
by a real uvicorn server on 127.0.0.1, in a process of its own (so the server never shares a
GIL with the clients), with the kata world it needs, and are measured in turn. C concurrent
clients keep sending requests for T seconds; the table shows requests per second, p50 and
p99 latency, and the speedup over the shipped app.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fastapi_async_katas.commands.benchserver import CATALOG, DATABASE, HOST, AppServer, BenchError, start_catalog
from fastapi_async_katas.course.listing import Kata, find_course_root, find_kata, load_course
from fastapi_async_katas.course.shipped import NoShippedVersion, find_shipped

DEFAULT_CLIENTS = 20
DEFAULT_SECONDS = 5.0
WARMUP_REQUESTS = 3
SHIPPED, CURRENT, SOLUTION = "shipped app.py", "your app.py", "reference solution"
WARMUP_TIMEOUT_S = 5.0
HANGS = "no request was answered within {seconds:g} s: its requests hang"
SAME_AS_SHIPPED = "the same file as shipped, so not run twice: edit it and bench again"


@dataclass(frozen=True)
class Workload:
    """What the clients ask a kata's app for, and which parts of the kata world it needs."""

    paths: tuple[str, ...]
    world: tuple[str, ...] = ()
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""


def _each_product(template: str) -> tuple[str, ...]:
    return tuple(template.format(id=i) for i in (1, 2, 3))


WORKLOADS: dict[str, Workload] = {
    "01_blocking_db": Workload(_each_product("/products/{id}"), (DATABASE,), note="each query waits 100 ms for the database"),
    "04_sequential_awaits": Workload(_each_product("/products/{id}/page"), (CATALOG,), note="each catalog call takes 100 ms"),
    "05_sync_http_client": Workload(_each_product("/products/{id}/availability"), (CATALOG,), note="each catalog call takes 100 ms"),
}
NOT_BENCHED: dict[str, str] = {
    "02_missing_await": "its mistake loses work rather than time: the shipped app answers fast because it never saves",
    "03_cpu_in_loop": "what its fix buys is /health answering while passwords are hashed, which `pytest katas/03` shows; "
    "throughput stays bound by the CPU",
    "06_blocking_file_io": "its slow storage serves each file to one reader at a time, so it cannot take a benchmark's load",
    "07_threadpool_exhaustion": "the limit it hits (40 worker threads: 400 lookups a second) is more than this bench's "
    "clients can send; `pytest katas/07` shows it with 100 requests at once",
    "08_sync_dependency": "what its fix buys is the right partner in the audit log; speed only changes past 40 requests at once",
    "09_nested_event_loop": "as shipped every lookup fails with a 500, which `pytest katas/09` shows and explains",
}


@dataclass
class Figures:
    """What one app did under load."""

    label: str
    latencies_s: list[float] = field(default_factory=list)  # of the requests answered with success
    errors: int = 0
    seconds: float = 0.0
    note: str = ""

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies_s) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        rank = math.ceil(round(share * len(ordered), 9))  # nearest rank
        return ordered[min(max(rank, 1), len(ordered)) - 1]


def main(argv: list[str], prog: str = "katas bench") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Serve a kata's shipped, current and solved app on uvicorn and compare their speed.")
    parser.add_argument("kata", metavar="KATA", help="the kata: 01, or its folder name")
    parser.add_argument("-c", "--clients", type=int, default=DEFAULT_CLIENTS, metavar="C", help=f"concurrent clients (default: {DEFAULT_CLIENTS})")
    parser.add_argument("-t", "--seconds", type=float, default=DEFAULT_SECONDS, metavar="T", help=f"seconds of load per app (default: {DEFAULT_SECONDS:g})")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        parser.error("-c and -t must be positive")
    root = find_course_root(Path.cwd())
    course = load_course(root) if root else []
    kata = find_kata(course, args.kata)
    if root is None or kata is None:
        known = ", ".join(k.number for k in course) or "none found"
        print(f"{prog}: error: there is no kata {args.kata!r} (the katas: {known})", file=sys.stderr)
        return 2
    workload = WORKLOADS.get(kata.folder)
    if workload is None:
        why = NOT_BENCHED.get(kata.folder, "the bench does not know what to ask this kata's app, or how to set up its world")
        print(f"{prog}: kata {kata.number} ({kata.slug}) has no benchmark: {why}.", file=sys.stderr)
        print(f"Katas with one: {', '.join(find_kata(course, f).number for f in WORKLOADS if find_kata(course, f))}.", file=sys.stderr)
        return 1
    clients = args.clients
    for line in header_lines(kata, workload, clients, args.seconds):
        print(line, flush=True)
    results = bench_kata(root, kata, workload, clients, args.seconds, progress=lambda text: print(text, flush=True))
    print()
    for line in table_lines(results):
        print(line)
    return 0


def header_lines(kata: Kata, workload: Workload, clients: int, seconds: float) -> list[str]:
    paths = ", ".join(workload.paths)
    world = f"; {workload.note}" if workload.note else ""
    return [
        f"Kata {kata.number} · {kata.title}",
        f"{workload.method} {paths}: {clients} clients for {seconds:g} s per app, uvicorn on {HOST}{world}.",
    ]


def bench_kata(root: Path, kata: Kata, workload: Workload, clients: int, seconds: float, progress: Any = print) -> list[Figures]:
    """Bench the shipped, current and solved app, in that order (the current one only if it differs).

    Every server starts at once: an idle server costs the others nothing, and none waits for the
    one before it to start. They are measured one at a time, and each stops once it is measured.
    """
    try:
        shipped: bytes | str = find_shipped(root, f"katas/{kata.folder}/app.py").text
    except NoShippedVersion as exc:
        shipped = str(exc)
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="katas-bench-") as tmp, ExitStack() as world:
        env = dict(os.environ)
        if CATALOG in workload.world:
            env.update(start_catalog(world))
        rows = plan(shipped, kata.kata_dir(root) / "app.py", kata.solution_dir(root) / "app.py", Path(tmp))
        servers = [world.enter_context(AppServer(app, workload.world, env, Path(tmp))) if app else None for _, app, _ in rows]
        for (label, app, note), server in zip(rows, servers):
            if server is None:
                results.append(Figures(label, note=note))
                continue
            progress(f"  running {label} ...")
            figures = bench_app(server, workload, clients, seconds)
            figures.label = label
            results.append(figures)
    return results


def plan(shipped: bytes | str, current: Path, solution: Path, tmp: Path) -> list[tuple[str, Path | None, str]]:
    """(label, app file or None, note) for each version: `shipped` is its text, or why it is unknown.

    Until the learner edits it, their app.py is the shipped file: it is run once, and said so.
    """
    rows: list[tuple[str, Path | None, str]] = []
    if isinstance(shipped, str):
        rows.append((SHIPPED, None, f"not found: {shipped}"))
    else:
        copy = tmp / "shipped" / "app.py"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(shipped)
        rows.append((SHIPPED, copy, ""))
    if not current.is_file():
        rows.append((CURRENT, None, f"{current} does not exist"))
    elif not isinstance(shipped, str) and current.read_bytes() == shipped:
        rows.append((CURRENT, None, SAME_AS_SHIPPED))
    else:
        rows.append((CURRENT, current, ""))
    rows.append((SOLUTION, solution, ""))
    return rows


def bench_app(server: AppServer, workload: Workload, clients: int, seconds: float) -> Figures:
    """Measure one app, served by its own uvicorn process, under load; then stop its server."""
    try:
        return asyncio.run(drive(server.wait_until_up(), workload, clients, seconds))
    except BenchError as exc:
        return Figures("", note=str(exc))
    except httpx.HTTPError as exc:
        return Figures("", note=f"its requests failed: {type(exc).__name__}: {exc}")
    finally:
        server.stop()


async def drive(base_url: str, workload: Workload, clients: int, seconds: float) -> Figures:
    """`clients` tasks each send one request after another for `seconds`; requests that
    finish later are not counted (as wrk does)."""
    figures = Figures("", seconds=seconds)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(seconds + 30), trust_env=False) as client:
        async def warm_up(path: str) -> bool:
            try:
                await client.request(workload.method, path, headers=workload.headers, timeout=WARMUP_TIMEOUT_S)
            except httpx.TimeoutException:
                return False
            except httpx.HTTPError:
                pass
            return True

        answered = await asyncio.gather(*(warm_up(path) for path in workload.paths[:WARMUP_REQUESTS]))
        if not any(answered):
            raise BenchError(HANGS.format(seconds=WARMUP_TIMEOUT_S))
        deadline = time.perf_counter() + seconds
        in_flight = 0

        async def one_client(first: int) -> None:
            i = first
            while True:
                path = workload.paths[i % len(workload.paths)]
                i += 1
                began = time.perf_counter()
                nonlocal in_flight
                in_flight += 1
                try:
                    response = await client.request(workload.method, path, headers=workload.headers)
                    failed = response.status_code >= 400
                except httpx.HTTPError:
                    failed = True
                finally:
                    in_flight -= 1
                ended = time.perf_counter()
                if ended > deadline:
                    return
                if failed:
                    figures.errors += 1
                else:
                    figures.latencies_s.append(ended - began)

        tasks = [asyncio.create_task(one_client(i)) for i in range(clients)]
        await asyncio.sleep(max(deadline - time.perf_counter(), 0.0))
        stuck = in_flight
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not figures.latencies_s and not figures.errors and stuck:
        figures.note = HANGS.format(seconds=seconds)
    return figures


def table_lines(results: list[Figures]) -> list[str]:
    """The comparison table: one row per app, the speedup against the shipped app's req/s."""
    base = next((f for f in results if f.label == SHIPPED and f.latencies_s), None)
    against = "shipped"
    if base is None:
        base = next((f for f in results if f.latencies_s), None)
        against = base.label if base else "shipped"
    head = f"{'app':<20}{'requests':>10}{'req/s':>10}{'p50':>11}{'p99':>11}{'errors':>8}  speedup over {against}"
    lines = [head, "-" * len(head)]
    for f in results:
        if f.note:
            lines.append(f"{f.label:<20}  ({f.note})")
            continue
        speedup = f"{f.requests_per_s / base.requests_per_s:.1f}x" if base and base.requests_per_s else "-"
        lines.append(
            f"{f.label:<20}{len(f.latencies_s):>10}{f.requests_per_s:>10.1f}{_duration(f.percentile(0.5)):>11}"
            f"{_duration(f.percentile(0.99)):>11}{f.errors:>8}  {speedup}"
        )
    return lines


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"
