"""FastAPI Async Katas: a pytest plugin that measures what an ASGI app's event loop did.

The public pieces, for use in any project's tests:

- `serve(app)`: run an app in process (lifespan included) and fire concurrent requests at it;
- `Run`: what one burst of requests measured, with `expect_*` checks that explain failures;
- `LoopWatch`: find loop steps that block, and blame the line in your own files.
"""

from plugin.firing import Harness, serve
from plugin.judging import KataFailure, Run
from plugin.measuring.loopwatch import Block, LoopWatch

__all__ = ["Block", "Harness", "KataFailure", "LoopWatch", "Run", "serve"]
