"""FastAPI Async Katas: measure what an ASGI app's event loop did, and explain it.

The public pieces, for any project's tests (the kata tests use nothing else):

- `serve(app)`: run an app in process (lifespan included) and fire concurrent requests at it;
  `Settings` says how long to wait and when a loop step counts as blocked; `serve_live(app)`:
  the same on a real uvicorn server on 127.0.0.1, with `Stream`s timed chunk by chunk;
- `Run`: what one burst of requests measured, with `expect_*` checks that explain failures
  (`KataFailure`); `run.fail(...)` raises one of your own; `Inconclusive` is the failure of a
  check that a machine too busy could not set up (`pytest --solutions` tries such a test again);
- `LoopWatch` and `Block`: find loop steps that block, and the line in your files to blame;
  `ThreadpoolWatch`: how FastAPI's threadpool lent its worker threads;
- `Place`, `UserFiles`, `place_lines`: a line of the user's code, which files count as theirs,
  and how a line is shown;
- `ThreadpoolCalls`: the functions the threadpool ran for the app, and context values set there
  and lost; `capture_log(name)`: a logger's lines, with a check of the values they name;
- the kata world's parts: `Database`, `SlowStorage`, `Upstream` (with `Reply` and
  `UpstreamRequest`) and `Catalog`. In pytest, the fixtures `katas_db`, `katas_storage`,
  `katas_upstream`, `katas_catalog`, `katas_threadpool`, `katas_threadpool_calls`,
  `katas_http_clients` and `katas_loop_starts` bring them (the README shows each).

The layers under this package, from the bottom up: `engine` (load, fire, measure, judge,
explain; it knows no kata), `world` (the kata world's real parts), `course` (the course list,
progress, hints, summary and report), `commands` (`katas ...`) and `pytest_plugin` (a thin
layer of hooks and fixtures). plugin/README.md says where new things belong.

The pieces are imported on first use: the `katas` commands need none of them, and would
otherwise start by importing httpx and asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi_async_katas.engine.contextwatch import ThreadpoolCalls
    from fastapi_async_katas.engine.explaining import place_lines
    from fastapi_async_katas.engine.firing import Harness, Settings, StartupError, serve
    from fastapi_async_katas.engine.judging import Inconclusive, KataFailure, Run
    from fastapi_async_katas.engine.live import LiveServer, Stream, serve_live
    from fastapi_async_katas.engine.logcapture import LogLines, capture_log
    from fastapi_async_katas.engine.loopwatch import Block, LoopWatch
    from fastapi_async_katas.engine.records import RequestRecord
    from fastapi_async_katas.engine.threadpool import ThreadpoolWatch
    from fastapi_async_katas.engine.userfiles import Place, UserFiles
    from fastapi_async_katas.world.database import Database
    from fastapi_async_katas.world.storage import SlowStorage
    from fastapi_async_katas.world.upstream import Catalog, Reply, Upstream, UpstreamRequest

_PUBLIC = {
    "place_lines": "fastapi_async_katas.engine.explaining",
    "Harness": "fastapi_async_katas.engine.firing",
    "Settings": "fastapi_async_katas.engine.firing",
    "StartupError": "fastapi_async_katas.engine.firing",
    "serve": "fastapi_async_katas.engine.firing",
    "LiveServer": "fastapi_async_katas.engine.live",
    "Stream": "fastapi_async_katas.engine.live",
    "serve_live": "fastapi_async_katas.engine.live",
    "Inconclusive": "fastapi_async_katas.engine.judging",
    "KataFailure": "fastapi_async_katas.engine.judging",
    "Run": "fastapi_async_katas.engine.judging",
    "Block": "fastapi_async_katas.engine.loopwatch",
    "LoopWatch": "fastapi_async_katas.engine.loopwatch",
    "RequestRecord": "fastapi_async_katas.engine.records",
    "ThreadpoolWatch": "fastapi_async_katas.engine.threadpool",
    "Place": "fastapi_async_katas.engine.userfiles",
    "ThreadpoolCalls": "fastapi_async_katas.engine.contextwatch",
    "LogLines": "fastapi_async_katas.engine.logcapture",
    "capture_log": "fastapi_async_katas.engine.logcapture",
    "UserFiles": "fastapi_async_katas.engine.userfiles",
    "Database": "fastapi_async_katas.world.database",
    "SlowStorage": "fastapi_async_katas.world.storage",
    "Catalog": "fastapi_async_katas.world.upstream",
    "Reply": "fastapi_async_katas.world.upstream",
    "Upstream": "fastapi_async_katas.world.upstream",
    "UpstreamRequest": "fastapi_async_katas.world.upstream",
}

__all__ = [
    "Block",
    "Catalog",
    "Database",
    "Harness",
    "Inconclusive",
    "KataFailure",
    "LiveServer",
    "LogLines",
    "LoopWatch",
    "Place",
    "Reply",
    "RequestRecord",
    "Run",
    "Settings",
    "SlowStorage",
    "StartupError",
    "Stream",
    "ThreadpoolCalls",
    "ThreadpoolWatch",
    "Upstream",
    "UpstreamRequest",
    "UserFiles",
    "capture_log",
    "place_lines",
    "serve",
    "serve_live",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'fastapi_async_katas' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
