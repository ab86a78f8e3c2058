"""Start an app on a real uvicorn server, send it one request, and stop it: what production does.

The in-process harness runs the same app, but a server does more: it imports the app before any
loop runs, runs its lifespan on the server's own loop, and serves real HTTP. An app that only
works inside a test fails here, with uvicorn's own words and the line of the user's code.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi_async_katas.engine.explaining import place_lines, raised_at
from fastapi_async_katas.engine.loading import load_app
from fastapi_async_katas.engine.loopback import HOST, LoopbackServer
from fastapi_async_katas.engine.userfiles import Place, UserFiles, display_path

REQUEST_TIMEOUT_S = 5.0
DID_NOT_START = "{app} did not start on a real uvicorn server on 127.0.0.1."
DID_NOT_ANSWER = "{app} started on a real uvicorn server, but its first request failed: {why}."
DID_NOT_STOP = "{app} started and answered on a real uvicorn server, but its shutdown failed."
BUT_TESTS_PASS = (
    "Your app passed its tests, which run it inside the test's event loop. A server imports the app "
    "before it starts any loop, then runs the lifespan on its own loop: do set-up there."
)


class ServerStartFailed(AssertionError):
    """The app did not start, answer or stop on a real server. The message says why and where."""


@contextmanager
def uvicorn_log() -> Iterator[list[logging.LogRecord]]:
    """What uvicorn logs meanwhile (its startup failures come only as log records)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    # Kept out of pytest's log capture too: the failure says what matters, without uvicorn's traceback.
    propagate, logger.propagate = logger.propagate, False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def check_server_start(app_path: Path, module_name: str, user_files: UserFiles, path: str = "/") -> int:
    """Serve the app in `app_path` with uvicorn (lifespan on), GET `path`, stop; return the status.

    Raises `ServerStartFailed` (or the loading error) with what went wrong and the user's line.
    """
    shown = display_path(str(app_path))
    app = load_app(app_path, module_name)
    server = LoopbackServer(app, f"uvicorn serving {shown}", lifespan="on")
    with uvicorn_log() as log:
        try:
            server.start()
        except RuntimeError:
            raise ServerStartFailed(failure_text(DID_NOT_START.format(app=shown), log, user_files)) from None
        # The standard library's client: an httpx one would build an SSL context first, for plain HTTP.
        connection = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT_S)
        try:
            connection.request("GET", path)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            server.stop()
            raise ServerStartFailed(failure_text(DID_NOT_ANSWER.format(app=shown, why=f"{type(exc).__name__}: {exc}"), log, user_files)) from None
        finally:
            connection.close()
        server.stop()
    errors = [r for r in log if r.levelno >= logging.ERROR]
    if errors:
        raise ServerStartFailed(failure_text(DID_NOT_STOP.format(app=shown), log, user_files))
    if status >= 500:
        raise ServerStartFailed(failure_text(DID_NOT_ANSWER.format(app=shown, why=f"it answered {status}"), log, user_files))
    return status


_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)', re.M)


def failure_text(headline: str, log: list[logging.LogRecord], user_files: UserFiles, *, tests_passed: bool = True) -> str:
    """The headline, what uvicorn said (a traceback's last line, not all of it), the user's line."""
    lines = [headline]
    for record in [r for r in log if r.levelno >= logging.ERROR] or log:
        text = record.getMessage().strip()
        exc = record.exc_info[1] if record.exc_info else None
        said = f"{type(exc).__name__}: {exc}" if exc is not None else text.splitlines()[-1] if text else ""
        lines.append(f"  uvicorn: {said}")
        place = raised_at(exc, user_files) if exc is not None else _innermost_user_frame(text, user_files)
        if place is not None:
            lines += ["  " + line for line in place_lines(place)]
    return "\n".join([*lines, "", BUT_TESTS_PASS] if tests_passed else lines)


def _innermost_user_frame(traceback_text: str, user_files: UserFiles) -> Place | None:
    """The last frame of a traceback printed as text that is in the user's files."""
    found = None
    for match in _FRAME.finditer(traceback_text):
        if match["file"] in user_files:
            found = Place(os.path.abspath(match["file"]), int(match["line"]), match["function"])
    return found
