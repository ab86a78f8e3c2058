"""A spare pytest process: it imports the heavy modules first, then waits for its arguments.

Watch mode keeps one ready while the learner edits, so a saved fix is tested without waiting for
Python, pytest and FastAPI to start, and without the garbage collector walking all of them. On a
busy machine those two can be more than half of a short run.
Only third-party modules are imported early: the kata, its tests and the plugin load fresh.
`KATAS_SPARE_IMPORTS`, a comma-separated list of module names, replaces the list below: a
course that does not use FastAPI (the self-tests' tiny one) need not pay for importing it.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.metadata
import json
import os
import sys

WARM_MODULES = ("pytest", "fastapi", "httpx", "uvicorn", "aiosqlite", "anyio")


def warm_modules() -> list[str]:
    listed = os.environ.get("KATAS_SPARE_IMPORTS")
    if listed is not None:
        return [name.strip() for name in listed.split(",") if name.strip()]
    return list(WARM_MODULES)


def warm_up() -> None:
    autoload = not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    plugins = [entry.module for entry in importlib.metadata.entry_points(group="pytest11")] if autoload else []
    for name in [*warm_modules(), *plugins]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: pytest reports real import errors itself
            pass
    # The imported modules live as long as the process. Frozen, the garbage collector stops walking
    # them again and again: that was most of a second per run (pytest collects hard at exit).
    gc.freeze()


def main() -> int:
    warm_up()
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # watch mode ended before it needed this spare
    # Modules imported early cannot have their asserts rewritten, and pytest warns about each one.
    # Only third-party plugins' own asserts are affected, so the warning is noise here.
    sys.argv = ["pytest", *json.loads(line), "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    import pytest

    return int(pytest.main(sys.argv[1:]))


def exit_now(code: int) -> None:
    """Exit without tearing the interpreter down, which takes up to a second once FastAPI is loaded.

    The run is over: its output is flushed and the exit handlers (pytest's temp-folder locks) have run.
    Skipping the teardown also means a thread left hanging by a broken kata cannot hold up the exit.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
