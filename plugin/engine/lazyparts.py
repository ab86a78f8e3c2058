"""The part of anyio that loads on first use, loaded before anything is measured.

anyio imports its event-loop backend the first time something asks for it: Starlette running a
`def` route in a thread, an `httpx.AsyncClient`'s first connection, `anyio.to_thread`, a task
group. That is 20 to 100 ms of importing, once in a process's life, on the event loop, in the
middle of whichever request came first. A measured burst would take it for the app's own work: a
block at the line that made the first call, and requests that seem to wait for each other. A
server pays it once; a burst must not.

Whether a pytest run has loaded it already depends on its plugins (anyio's own pytest plugin
imports it as it loads); the probe never has. So `serve()` loads it before the app starts.
"""

from __future__ import annotations

import importlib

# The asyncio backend only: the harness runs apps on asyncio.
ANYIO_BACKEND = "anyio._backends._asyncio"


def load_lazy_parts() -> None:
    """Import anyio's asyncio backend (at once if it is loaded); an anyio that keeps it elsewhere
    loads it on first use, as before."""
    try:
        importlib.import_module(ANYIO_BACKEND)
    except ImportError:
        pass
