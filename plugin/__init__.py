"""FastAPI Async Katas: a pytest plugin that measures what an ASGI app's event loop did.

The public pieces, for use in any project's tests:

- `serve(app)`: run an app in process (lifespan included) and fire concurrent requests at it;
- `Run`: what one burst of requests measured, with `expect_*` checks that explain failures;
- `LoopWatch`: find loop steps that block, and blame the line in your own files.

They are imported on first use: the `katas` commands (watch, reset, list) need none of them,
and would otherwise start by importing httpx and asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugin.firing import Harness, serve
    from plugin.judging import KataFailure, Run
    from plugin.measuring.loopwatch import Block, LoopWatch

_PUBLIC = {
    "Harness": "plugin.firing",
    "serve": "plugin.firing",
    "KataFailure": "plugin.judging",
    "Run": "plugin.judging",
    "Block": "plugin.measuring.loopwatch",
    "LoopWatch": "plugin.measuring.loopwatch",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
