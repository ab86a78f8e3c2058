"""A deadline outside the process: a run that can no longer finish ends, and names its test.

A deadlock inside the interpreter stops every thread of the process, pytest-timeout's included.
So each process that runs tests (a learner's run, or each worker of `pytest --solutions`) starts
a tiny watchdog process and tells it when each test begins and ends. A test still running past
its pytest-timeout plus `katas_hang_grace` seconds is named on stderr and its process killed.
Under xdist the controller then reports that test as hung, and the run ends with a failure.

One watchdog per process: the contract check runs kata sessions inside a test, and the outer
test's deadline covers them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

GRACE_HELP = "seconds a test may run past its pytest-timeout before a watchdog outside the process stops the run (default: 15)"
DEFAULT_GRACE_S = 15.0
# A test with no timeout of its own still gets this long before the grace.
UNTIMED_S = 300.0
HUNG_REPORT = "hung: {nodeid} made no progress for {limit} s, so the watchdog stopped worker {worker} (a deadlock stops every thread of a process, so no timeout inside it could fire)"
_NOTES = "katas_watchdog_notes"
_PROCESS = Path(__file__).with_name("watchdog_process.py")
_KEY = pytest.StashKey["Watchdog"]()
_NOTES_KEY = pytest.StashKey[str]()
_GRACE_KEY = pytest.StashKey[float]()
_running: "Watchdog | None" = None


class Watchdog:
    """The watchdog process of this one, and the line it is told each event on."""

    def __init__(self, note_file: str | None, pid: int | None = None) -> None:
        watched = os.getpid() if pid is None else pid
        command = [sys.executable, "-I", "-S", str(_PROCESS), str(watched), *([note_file] if note_file else [])]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1)

    def tell(self, line: str) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(line.replace("\n", " ") + "\n")
        except (OSError, ValueError):
            pass  # the watchdog is gone: the run goes on unwatched

    def close(self) -> None:
        self.tell("quit")
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("katas_hang_grace", GRACE_HELP, default=None)


def _grace(config: pytest.Config) -> float:
    value = config.getini("katas_hang_grace")
    if value in (None, ""):
        return DEFAULT_GRACE_S
    try:
        grace = float(value)
    except ValueError:
        grace = -1.0
    if grace <= 0:
        raise pytest.UsageError(f"the ini setting katas_hang_grace={value!r} is not valid: give a positive number of seconds")
    return grace


def _runs_tests_here(config: pytest.Config) -> bool:
    controller = getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")
    return not controller and not config.option.collectonly


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    global _running
    config.stash[_GRACE_KEY] = _grace(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None and getattr(config.option, "dist", "no") != "no":
        # The xdist controller: where its workers' watchdogs leave word of a hung test.
        config.stash[_NOTES_KEY] = tempfile.mkdtemp(prefix="katas-watchdog-")
    if _running is not None or not _runs_tests_here(config):
        return
    notes = (workerinput or {}).get(_NOTES)
    worker = (workerinput or {}).get("workerid", "main")
    _running = config.stash[_KEY] = Watchdog(os.path.join(notes, f"{worker}.txt") if notes else None)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _running
    dog = config.stash.get(_KEY, None)
    if dog is not None:
        dog.close()
        _running = None
    if not hasattr(config, "workerinput") and _NOTES_KEY in config.stash:
        shutil.rmtree(config.stash[_NOTES_KEY], ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    dog = item.config.stash.get(_KEY, None)
    if dog is None:
        return (yield)
    dog.tell(f"start {_limit(item):g} {item.nodeid}")
    try:
        return (yield)
    finally:
        dog.tell("end")


def _limit(item: pytest.Item) -> float:
    """The test's pytest-timeout (its marker's, else the run's), plus the grace."""
    timeout: Any = None
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        timeout = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    if timeout is None:
        try:
            from pytest_timeout import get_env_settings

            timeout = get_env_settings(item.config).timeout
        except Exception:
            timeout = None
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = 0.0
    return (seconds if seconds > 0 else UNTIMED_S) + item.config.stash[_GRACE_KEY]


def pytest_enter_pdb(config: pytest.Config) -> None:
    dog = config.stash.get(_KEY, None)
    if dog is not None:
        dog.tell("pause")


def pytest_leave_pdb(config: pytest.Config) -> None:
    dog = config.stash.get(_KEY, None)
    if dog is not None:
        dog.tell("resume")


# -- the xdist controller --------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    notes = node.config.stash.get(_NOTES_KEY, None)
    if notes:
        node.workerinput[_NOTES] = notes


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: Any) -> None:
    """A worker that died on a test its watchdog found hung: say so, instead of "crashed"."""
    notes = getattr(report, "node", None) and report.node.config.stash.get(_NOTES_KEY, None)
    if not notes:
        return
    worker = report.node.gateway.id
    try:
        limit, _, nodeid = (Path(notes) / f"{worker}.txt").read_text(encoding="utf-8").strip().partition(" ")
    except OSError:
        return
    if nodeid == crashitem:
        report.longrepr = HUNG_REPORT.format(nodeid=nodeid, limit=limit, worker=worker)
