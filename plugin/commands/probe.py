"""`katas probe`: send requests at any ASGI app and show what blocked its event loop.

    katas probe myapp.main:app GET /items -n 20
    katas probe src/app.py GET /items --duration 10 --rate 50 --json
    katas probe src/app.py GET /items --fail-on blocks,errors
    katas probe 01 GET /products/1 -n 20        # in a course: kata 01's app, with its world

Blame goes to the innermost line of the user's own files (anything outside the standard
library, site-packages and this plugin), with the chain of their calls that led to it. The
measuring is in `probing`, the report in `probe_report` (text) and `probe_json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi_async_katas.commands.probe_json import FINDINGS, STRICT, as_json, error_json, findings
from fastapi_async_katas.commands.probe_report import report_lines
from fastapi_async_katas.commands.probeworld import NEEDS_ITS_WORLD, kata_named, kata_world, worldless_kata
from fastapi_async_katas.commands.probing import (
    DEFAULT_RATE,
    DEFAULT_REQUESTS,
    MAX_DURATION_S,
    MAX_REQUESTS,
    Load,
    ProbeResult,
    probe,
)
from fastapi_async_katas.engine.firing import Settings, StartupError
from fastapi_async_katas.engine.targets import TargetError, load_target
from fastapi_async_katas.engine.userfiles import Place, display_path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Beyond --timeout for the requests (and --duration), startup and shutdown get this long each, at most.
LIFESPAN_S = 5.0
PROBE_TIMED_OUT = "timed out: the probe did not end within {seconds:g} s (its requests' deadline, plus the app's startup and shutdown)"
DEFAULT_BLOCK_MS = 50.0
DEFAULT_TIMEOUT_S = 30.0
DESCRIPTION = (
    "Send requests at a FastAPI (or any ASGI) app, N at once or at a steady rate for a while, and show what blocked "
    "its event loop, what failed, what hung and what was never awaited."
)
TARGET_HELP = (
    "the app: package.module:app, or path/to/file.py with an optional :attr (default attribute: app); "
    "in a course, a kata's number (01) probes your app.py with the kata's world running"
)
FAIL_ON_HELP = (
    f"exit with status 1 when the probe finds any of these (comma-separated: {','.join(FINDINGS)}); "
    "without it the probe reports and exits 0"
)


def main(argv: list[str], prog: str = "katas probe") -> int:
    args = _parser(prog).parse_args(argv)
    error = _check_args(args)
    if error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    load = Load(args.method, args.path, n=args.n or DEFAULT_REQUESTS, duration_s=args.duration, rate=args.rate or DEFAULT_RATE,
                body=args.data, headers=args.headers)
    lifespan_s = min(LIFESPAN_S, args.timeout)
    settings = Settings(request_timeout_s=args.timeout, lifespan_timeout_s=lifespan_s, block_ms=args.block_ms, hang_s=args.timeout)
    bound_s = (args.duration or 0.0) + args.timeout + 2 * lifespan_s + 1.0
    named = kata_named(args.target)
    world = kata_world() if named is not None else contextlib.nullcontext()
    target = str(named[1].kata_dir(named[0]) / "app.py") if named is not None else args.target
    if named is None and (kata := worldless_kata(args.target)) is not None:
        print(NEEDS_ITS_WORLD.format(app=args.target, number=kata.number, method=args.method, path=args.path), file=sys.stderr)
    with _app_output_to_stderr(args.json), world:
        outcome = _run(target, load, settings, bound_s)
    if isinstance(outcome, _Failure):
        print(f"{prog}: {outcome.message}", file=sys.stderr)
        if args.json:
            print(json.dumps(error_json(args.target, outcome.kind, outcome.message.removeprefix("error: "), outcome.place)))
        return outcome.code
    result, label = outcome
    if named is not None:
        label = f"kata {named[1].number} ({display_path(target)})"
    if args.json:
        print(json.dumps(as_json(result, label, args.block_ms)))
    else:
        print("\n".join(report_lines(result, label, args.block_ms)))
    fail_on = set(args.fail_on) | (set(STRICT) if args.strict else set())
    return 1 if set(findings(result)) & fail_on else 0


INTERRUPTED = "interrupted (Ctrl-C) while the app was loading: nothing was measured"
# A first Ctrl-C once the probe runs ends the requests and reports; this is a second one.
INTERRUPTED_AGAIN = "interrupted (Ctrl-C) again: the probe stopped before it could report what it measured"


@dataclass(frozen=True)
class _Failure:
    """Nothing was measured: why (said on stderr, and with --json as one object on stdout)."""

    kind: str
    message: str
    code: int
    place: Place | None = None


def _run(spec: str, load: Load, settings: Settings, bound_s: float) -> tuple[ProbeResult, str] | _Failure:
    try:
        target = load_target(spec)
    except TargetError as exc:
        return _Failure("target", f"error: {exc}", 2)
    except KeyboardInterrupt:
        return _Failure("interrupted", INTERRUPTED, 130)
    try:
        return asyncio.run(asyncio.wait_for(probe(target.app, load, settings=settings), bound_s)), target.label
    except KeyboardInterrupt:
        return _Failure("interrupted", INTERRUPTED_AGAIN, 130)
    except TimeoutError:
        return _Failure("timeout", PROBE_TIMED_OUT.format(seconds=bound_s), 1)
    except StartupError as exc:
        where = f" ({exc.place.short()}: {exc.place.code})" if exc.place else ""
        return _Failure("startup", f"{exc}{where}", 1, exc.place)


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    parser.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    parser.add_argument("method", metavar="METHOD", type=str.upper, help=f"the HTTP method ({', '.join(METHODS)})")
    parser.add_argument("path", metavar="PATH", help="the path to request, with any query string: /items?limit=5")
    parser.add_argument("-n", type=int, default=None, metavar="N", help=f"requests sent at once, at most {MAX_REQUESTS:,} (default: {DEFAULT_REQUESTS})")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help=f"instead of a burst, send requests at a steady --rate for this many seconds (at most {MAX_DURATION_S:g}); Ctrl-C stops early and reports what was measured")
    parser.add_argument("--rate", type=float, default=None, metavar="R", help=f"requests per second with --duration (default: {DEFAULT_RATE:g})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report (its schema is in the README)")
    parser.add_argument("-d", "--data", type=_json_body, default=None, metavar="JSON", help="a JSON request body")
    parser.add_argument("-H", "--header", dest="headers", action="append", type=_header, default=None, metavar="'NAME: VALUE'", help="a request header (repeatable)")
    parser.add_argument("--block-ms", type=float, default=DEFAULT_BLOCK_MS, metavar="MS", help=f"a loop step this long counts as blocking (default: {DEFAULT_BLOCK_MS:g})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S", help=f"seconds before a request counts as hung; the whole probe ends within about this (plus --duration) plus {2 * LIFESPAN_S + 1:g} s (default: {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--fail-on", type=_findings, default=(), metavar="LIST", help=FAIL_ON_HELP)
    parser.add_argument("--strict", action="store_true", help=f"fail on {','.join(STRICT)} (with --fail-on: on those too)")
    return parser


def _check_args(args: argparse.Namespace) -> str | None:
    if args.method not in METHODS:
        return f"METHOD {args.method!r} is not one of {', '.join(METHODS)}"
    if not args.path.startswith("/"):
        return f"PATH {args.path!r} must start with '/'"
    if args.n is not None and args.duration is not None:
        return "-n sends a burst and --duration a steady stream: give one of them"
    if args.rate is not None and args.duration is None:
        return "--rate goes with --duration: --duration 10 --rate 50"
    if args.n is not None and args.n < 1:
        return f"-n {args.n} must be at least 1"
    if args.n is not None and args.n > MAX_REQUESTS:
        return f"-n {args.n} is more than the {MAX_REQUESTS:,} requests a probe sends at once"
    if args.duration is not None:
        if not 0 < args.duration <= MAX_DURATION_S:
            return f"--duration {args.duration:g} must be more than 0 and at most {MAX_DURATION_S:g} seconds"
        rate = args.rate if args.rate is not None else DEFAULT_RATE
        if rate <= 0:
            return f"--rate {rate:g} must be positive"
        if args.duration * rate > MAX_REQUESTS:
            return f"--duration {args.duration:g} at --rate {rate:g} sends {args.duration * rate:,.0f} requests, more than the {MAX_REQUESTS:,} a probe sends"
    if args.block_ms <= 0 or args.timeout <= 0:
        return "--block-ms and --timeout must be positive"
    args.headers = dict(args.headers) if args.headers else None
    return None


def _findings(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in chosen if name not in FINDINGS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{text!r}: choose from {', '.join(FINDINGS)} (comma-separated)")
    return chosen


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
