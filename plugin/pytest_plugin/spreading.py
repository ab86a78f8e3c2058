"""`pytest --solutions` on its own spreads its tests over worker processes (pytest-xdist).

That run holds the katas, the plugin's self-tests and the kata contract check, whose every
variant is a kata run of its own. Most of their time is spent waiting: on the simulated
database, on an upstream service, on a deadline. So several workers per core finish it
several times sooner. Any other run (a kata, `pytest katas`, a learner's own `-n`) is left
as it is; `-n 0` keeps the whole run in one process, and `--pdb` or `--kata-report` do too.

The run's workers also spare the garbage collector two walks over their whole heap, which eight
workers on two cores pay for together:

- every worker collects every test before any test runs, and collecting imports and rewrites
  modules: the collector would walk the growing heap again and again. It is off meanwhile.
  Then it runs once, and what is left is frozen (`gc.freeze()`): it lives to the end of the
  run, and no full collection during the tests walks it again. Such a walk stops every thread
  of the worker at once, the loops of a live server and of its client alike;
- once a worker has sent its results, pytest collects garbage twice more and the interpreter
  tears down, and the run waits for all of it: about a second. A worker is the outermost
  session of its process, so it freezes its objects at its end, as any course run does (see
  `ending`).
"""

from __future__ import annotations

import gc
import os
from typing import Any

import pytest

from fastapi_async_katas.engine.awaits import keep_frozen

WORKERS_PER_CORE = 4
MOST_WORKERS = 8
_GC_OFF = pytest.StashKey[bool]()
_SPREADING = pytest.StashKey[bool]()
# Set in the workerinput of the workers this plugin asked for, not of a learner's own `-n`.
SPREAD = "katas_spread"


def workers() -> int:
    """How many workers the whole `--solutions` run gets on this machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(MOST_WORKERS, WORKERS_PER_CORE * cores))


def spreads(config: pytest.Config) -> bool:
    """Whether this is the whole `--solutions` run, and nothing asked to keep it in one process."""
    option = config.option
    return (
        config.getoption("solutions", False)
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
        and (config.rootpath / "tests").is_dir()
        and config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and getattr(option, "numprocesses", None) is None
        and getattr(option, "dist", "no") == "no"
        and not getattr(option, "tx", None)
        and not option.usepdb
        and not option.collectonly
        and config.getoption("kata_report", None) is None
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Runs before xdist's own hook (also tryfirst, registered earlier), which starts the workers.
    if spreads(config):
        config.option.numprocesses = workers()
        # A worker that runs out of tests takes some from a busy one: the runs differ a lot in length.
        config.option.dist = "worksteal"
        config.stash[_SPREADING] = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist's hook, in the controller, as each worker is set up."""
    if node.config.stash.get(_SPREADING, False):
        node.workerinput[SPREAD] = True


def spread_worker(config: pytest.Config) -> bool:
    """Whether this process is one of the workers of the whole `--solutions` run."""
    return bool(getattr(config, "workerinput", {}).get(SPREAD))


def pytest_report_header(config: pytest.Config) -> list[str]:
    numprocesses = getattr(config.option, "numprocesses", None)
    if not config.getoption("solutions", False) or hasattr(config, "workerinput") or not numprocesses:
        return []
    processes = "process" if numprocesses == 1 else "processes"
    return [f"katas: the tests run in {numprocesses} worker {processes} (-n 0 keeps them in this one)"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    if spread_worker(session.config) and gc.isenabled():
        gc.disable()
        session.config.stash[_GC_OFF] = True


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.stash.get(_GC_OFF, False):
        gc.enable()
        session.config.stash[_GC_OFF] = False
        # What the worker imported and collected lives to the end of the run: once its garbage
        # is gone, it is frozen, and no full collection during the tests walks it again.
        gc.collect()
        gc.freeze()
        keep_frozen()
