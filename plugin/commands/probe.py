"""`katas probe`: fire concurrent requests at any ASGI app and show what blocked its event loop.

    katas probe myapp.main:app GET /items -n 20
    katas probe src/app.py GET /items --json

The app runs in this process with its lifespan, exactly as the katas' tests run theirs
(`plugin.serve`), and blame goes to the innermost line of the user's own files: anything
outside the standard library, site-packages and this plugin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi_async_katas.engine.explaining import block_lines, error_lines, place_lines, timeline_lines, unawaited_lines
from fastapi_async_katas.engine.firing import Settings, StartupError, serve
from fastapi_async_katas.engine.judging import Run
from fastapi_async_katas.engine.loopwatch import Block
from fastapi_async_katas.engine.targets import TargetError, load_target
from fastapi_async_katas.engine.userfiles import UserFiles, display_path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
JSON_KEYS = ("requests", "wall_s", "max_in_flight", "status_counts", "blocks")
DEFAULT_REQUESTS = 20
# Each request is a task of this process, measured as it runs: past this many at once, a probe
# measures its own weight more than the app's.
MAX_REQUESTS = 10_000
# Beyond --timeout for the requests, startup and shutdown get this long each, at most.
LIFESPAN_S = 5.0
PROBE_TIMED_OUT = "timed out: the probe did not end within {seconds:g} s (its requests' deadline, plus the app's startup and shutdown)"
STILL_WAITING = "{count} still unanswered after {seconds:g} s, waiting at:"
DEFAULT_BLOCK_MS = 50.0
DEFAULT_TIMEOUT_S = 30.0
NO_BLOCKS = "No step of the event loop took {block_ms:g} ms or more in your code: it stayed free to serve others."
STARTUP_BLOCKS = "While the app started (before any request):"
DESCRIPTION = "Fire N concurrent requests at a FastAPI (or any ASGI) app and show what blocked its event loop."
TARGET_HELP = "the app: package.module:app, or path/to/file.py with an optional :attr (default attribute: app)"


@dataclass
class ProbeResult:
    """What one probe measured: the burst of requests, and any blocks while the app started."""

    run: Run
    startup_blocks: list[Block] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        figures = self.run.as_dict()
        return {key: figures[key] for key in JSON_KEYS}


async def probe(
    app: Any,
    method: str,
    path: str,
    *,
    n: int = DEFAULT_REQUESTS,
    body: Any = None,
    headers: dict[str, str] | None = None,
    settings: Settings | None = None,
    user_files: UserFiles | None = None,
) -> ProbeResult:
    """Start `app`, send `n` identical requests at once, and return what was measured."""
    async with serve(app, user_files=user_files, settings=settings) as harness:
        run = await harness.fire(method, path, n=n, json=body, headers=headers)
    return ProbeResult(run, list(harness.startup_blocks))


def report_lines(result: ProbeResult, target: str, method: str, path: str, block_ms: float) -> list[str]:
    """The probe's report as text: timeline, figures, and each block with its line."""
    run = result.run
    lines = [f"Probe: {method} {path} × {len(run.requests)} at once, on {target}", ""]
    if len(run.requests) > 1:
        lines += [*timeline_lines(run.requests, run.began, run.ended), ""]
    statuses = ", ".join(f"{count}× {status}" for status, count in sorted(run.status_counts.items()))
    lines.append(
        f"{len(run.requests)} requests in {run.wall_s:.2f} s; at most {run.max_in_flight} in the app at once; "
        f"status: {statuses}"
    )
    lines.append("")
    if run.blocks:
        lines += block_lines(run.blocks, remedies=True)
        lines += ["", *each_block_lines(run.blocks)]
    else:
        lines.append(NO_BLOCKS.format(block_ms=block_ms))
    if run.unawaited:
        lines += ["", *unawaited_lines(run.unawaited)]
    errors = error_lines(run.requests)
    if errors:
        lines += ["", *errors]
    if run.timed_out:
        lines += ["", *waiting_lines(run)]
    if result.startup_blocks:
        lines += ["", STARTUP_BLOCKS, *["  " + line for line in block_lines(result.startup_blocks, remedies=True)]]
    return lines


def waiting_lines(run: Run) -> list[str]:
    """Where the requests still unanswered at the deadline were waiting, one line each place."""
    places: dict[Any, int] = {}
    for record in run.timed_out:
        places[record.waiting_at] = places.get(record.waiting_at, 0) + 1
    lines = [STILL_WAITING.format(count=_requests(len(run.timed_out)), seconds=run.timeout_s)]
    for place, count in places.items():
        lines += [f"  {_requests(count)}:", *["  " + line for line in place_lines(place)]]
    return lines


def _requests(n: int) -> str:
    return f"{n} request" if n == 1 else f"{n} requests"


def each_block_lines(blocks: list[Block]) -> list[str]:
    """One row per blocked step, in the order they happened."""
    rows = [b.as_dict() for b in blocks]
    wheres = [f"{display_path(row['file'])}:{row['line']} in {row['function']}()" for row in rows]
    width = max(len(where) for where in wheres)
    lines = [f"Each block ({len(blocks)}):", f"  {'#':>3}  {'where':<{width}}  {'wall_ms':>8}  {'cpu_ms':>8}  kind"]
    for i, (row, where) in enumerate(zip(rows, wheres), 1):
        lines.append(f"  {i:>3}  {where:<{width}}  {row['wall_ms']:>8.1f}  {row['cpu_ms']:>8.1f}  {row['kind']}")
    return lines


def main(argv: list[str], prog: str = "katas probe") -> int:
    args = _parser(prog).parse_args(argv)
    error = _check_args(args)
    if error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    lifespan_s = min(LIFESPAN_S, args.timeout)
    settings = Settings(request_timeout_s=args.timeout, lifespan_timeout_s=lifespan_s, block_ms=args.block_ms, hang_s=args.timeout)
    bound_s = args.timeout + 2 * lifespan_s + 1.0
    with _app_output_to_stderr(args.json):
        try:
            target = load_target(args.target)
        except TargetError as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        try:
            result = asyncio.run(
                asyncio.wait_for(
                    probe(target.app, args.method, args.path, n=args.n, body=args.data, headers=args.headers, settings=settings),
                    bound_s,
                )
            )
        except TimeoutError:
            print(f"{prog}: {PROBE_TIMED_OUT.format(seconds=bound_s)}", file=sys.stderr)
            return 1
        except StartupError as exc:
            where = f" ({exc.place.short()}: {exc.place.code})" if exc.place else ""
            print(f"{prog}: {exc}{where}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print("\n".join(report_lines(result, target.label, args.method, args.path, args.block_ms)))
    return 1 if args.strict and result.run.blocks else 0


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    parser.add_argument("method", metavar="METHOD", type=str.upper, help=f"the HTTP method ({', '.join(METHODS)})")
    parser.add_argument("path", metavar="PATH", help="the path to request, with any query string: /items?limit=5")
    parser.add_argument("-n", type=int, default=DEFAULT_REQUESTS, metavar="N", help=f"requests sent at once, at most {MAX_REQUESTS:,} (default: {DEFAULT_REQUESTS})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument("-d", "--data", type=_json_body, default=None, metavar="JSON", help="a JSON request body")
    parser.add_argument("-H", "--header", dest="headers", action="append", type=_header, default=None, metavar="'NAME: VALUE'", help="a request header (repeatable)")
    parser.add_argument("--block-ms", type=float, default=DEFAULT_BLOCK_MS, metavar="MS", help=f"a loop step this long counts as blocking (default: {DEFAULT_BLOCK_MS:g})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S", help=f"seconds before a request counts as hung; the whole probe ends within about this plus {2 * LIFESPAN_S + 1:g} s (default: {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when the loop was blocked (for CI)")
    return parser


def _check_args(args: argparse.Namespace) -> str | None:
    if args.method not in METHODS:
        return f"METHOD {args.method!r} is not one of {', '.join(METHODS)}"
    if not args.path.startswith("/"):
        return f"PATH {args.path!r} must start with '/'"
    if args.n < 1:
        return f"-n {args.n} must be at least 1"
    if args.n > MAX_REQUESTS:
        return f"-n {args.n} is more than the {MAX_REQUESTS:,} requests a probe sends at once"
    if args.block_ms <= 0 or args.timeout <= 0:
        return "--block-ms and --timeout must be positive"
    args.headers = dict(args.headers) if args.headers else None
    return None


def _json_body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not 'NAME: VALUE'")
    try:
        name.strip().encode("ascii")
        value.strip().encode("latin-1")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"{text!r}: an HTTP header holds only ASCII in its name and Latin-1 in its value") from None
    return name.strip(), value.strip()


@contextlib.contextmanager
def _app_output_to_stderr(active: bool) -> Iterator[None]:
    """With `--json`, whatever the app prints (even from a subprocess) goes to stderr, so that
    stdout holds exactly one JSON object."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
