"""A run that can no longer finish ends within a bounded time, and names the test that hung.

A test that stops its own process (SIGSTOP) stands in for a deadlock: no thread of the process
runs, pytest-timeout's included, exactly as when two threads each wait for the other's lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from fakecourse import make_course

from fastapi_async_katas.pytest_plugin.watchdog import HUNG_REPORT, Watchdog

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="stops a process with SIGSTOP")

WEDGED = """
import os
import signal


def test_the_process_wedges():
    os.kill(os.getpid(), signal.SIGSTOP)


def test_after_it():
    pass
"""
# pytest-timeout's 1 s plus a 1 s grace: the watchdog stops the wedged run after 2 s.
SETTINGS = "\ntimeout = 1\nkatas_hang_grace = 1\n"
HARD_LIMIT_S = 60


@pytest.fixture
def course(pytester: pytest.Pytester) -> pytest.Pytester:
    make_course(pytester)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('addopts = "--import-mode=importlib"', 'addopts = "--import-mode=importlib"' + SETTINGS))
    (pytester.path / "katas" / "01_alpha" / "test_wedged.py").write_text(textwrap.dedent(WEDGED))
    return pytester


def run(course: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "katas/01_alpha/test_wedged.py", *args]
    return subprocess.run(command, cwd=course.path, capture_output=True, text=True, timeout=HARD_LIMIT_S)


def test_a_wedged_learners_run_is_stopped_by_its_watchdog_and_names_the_test(course):
    done = run(course)
    assert done.returncode == -signal.SIGKILL
    assert "katas/01_alpha/test_wedged.py::test_the_process_wedges made no progress for 2 s" in done.stderr


def test_a_wedged_worker_is_stopped_and_the_run_fails_with_the_test_reported_as_hung(course):
    done = run(course, "-n", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert HUNG_REPORT.format(nodeid="katas/01_alpha/test_wedged.py::test_the_process_wedges", limit="2", worker="gw0") in done.stdout
    assert "1 failed, 1 passed" in done.stdout


def test_the_watchdog_lets_a_test_that_ends_in_time_go_on_and_leaves_with_the_run():
    dog = Watchdog(None)
    dog.tell("start 0.5 a/test.py::test_quick")
    dog.tell("end")
    dog.close()
    assert dog.process.returncode == 0


def test_the_watchdog_waits_while_a_debugger_is_open():
    reader, writer = os.pipe()
    victim = subprocess.Popen([sys.executable, "-c", "import os, sys; os.read(int(sys.argv[1]), 1)", str(reader)], pass_fds=[reader])
    os.close(reader)
    try:
        dog = Watchdog(None, pid=victim.pid)
        dog.tell("start 0.3 a/test.py::test_debugged")
        dog.tell("pause")
        with pytest.raises(subprocess.TimeoutExpired):
            victim.wait(timeout=1.0)
        dog.tell("resume")
        assert victim.wait(timeout=5) == -signal.SIGKILL
    finally:
        os.close(writer)
        victim.kill()
        victim.wait()
