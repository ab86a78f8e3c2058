"""An app that leaves a thread running after it shut down fails its kata test, and a course run
that is otherwise done is not held open by that thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest
from fakecourse import make_course

from fastapi_async_katas.engine.leftovers import LEFT_RUNNING, name_of

LEAKING_APP = """
import threading

from fastapi import FastAPI

app = FastAPI()
stop = threading.Event()


@app.get("/ping")
async def ping():
    threading.Thread(target=stop.wait, name="left-behind worker").start()
    return {"pong": True}
"""
TEST = """
async def test_ping_answers_pong(kata):
    async with kata.serve() as app:
        run = await app.fire("GET", "/ping")
    run.expect_status(200).expect_json({"pong": True})
"""


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "200")
    make_course(pytester)
    (pytester.path / "katas" / "01_alpha" / "app.py").write_text(textwrap.dedent(LEAKING_APP))
    (pytester.path / "katas" / "01_alpha" / "test_kata.py").write_text(textwrap.dedent(TEST))
    return pytester


def test_a_thread_left_running_fails_the_test_and_the_run_still_ends(course):
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "katas/01", "-p", "no:cacheprovider"], cwd=course.path,
                          capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - began < 30
    assert done.returncode == 1, done.stdout + done.stderr
    expected = LEFT_RUNNING.format(count="1 thread", names="left-behind worker")
    assert expected in done.stdout
    assert "katas: the tests are done, but 1 thread your app started is still running (left-behind worker); exiting without waiting for it." in done.stderr


POOL_APP = """
import asyncio
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fastapi import FastAPI

app = FastAPI()
pool = ProcessPoolExecutor(max_workers=1)  # never shut down


@app.get("/ping")
async def ping():
    pid = await asyncio.get_running_loop().run_in_executor(pool, os.getpid)
    Path("worker.pid").write_text(str(pid))
    return {"pong": True}
"""


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return not any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_process_pool_left_running_does_not_outlive_the_run(course):
    (course.path / "katas" / "01_alpha" / "app.py").write_text(textwrap.dedent(POOL_APP))
    done = subprocess.run([sys.executable, "-m", "pytest", "katas/01", "-p", "no:cacheprovider"], cwd=course.path,
                          capture_output=True, text=True, timeout=60)
    assert "exiting without waiting for" in done.stderr, done.stdout + done.stderr
    pid = int((course.path / "worker.pid").read_text())
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), f"the app's pool worker {pid} outlived the run"


BOOM_PLUGIN = """
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    raise pytest.UsageError("a plugin that fails to configure")
"""
LEAVES_A_THREAD = """
import threading

STOP = threading.Event()


def test_starts_a_thread():
    threading.Thread(target=STOP.wait, name="left by a nested session").start()
"""
OUTER_TESTS = """
import pytest

from fastapi_async_katas.pytest_plugin.leftovers import lingering

COURSE = ["-p", "fastapi_async_katas.pytest_plugin.course", "-p", "no:cacheprovider", "-q"]


def test_a_nested_session_that_fails_to_configure():
    assert pytest.main(["-p", "boom_plugin", *COURSE, "inner"]) == pytest.ExitCode.USAGE_ERROR


def test_a_nested_session_that_leaves_a_thread_does_not_end_this_process():
    pytest.main([*COURSE, "inner/test_inner.py"])
    left = lingering(set())
    assert left
    import test_inner
    test_inner.STOP.set()
"""


def test_a_session_inside_a_test_never_ends_the_process_even_after_one_failed_to_configure(pytester):
    # The contract check runs kata sessions inside its tests, in xdist workers. A nested session
    # that failed to configure part-way once made the next one look outermost: its leftover
    # thread then ended the worker, and xdist reported it as crashed.
    pytester.makepyfile(boom_plugin=BOOM_PLUGIN, test_outer=OUTER_TESTS)
    (pytester.path / "inner").mkdir()
    (pytester.path / "inner" / "test_inner.py").write_text(LEAVES_A_THREAD)
    pytester.syspathinsert()
    pytester.syspathinsert(pytester.path / "inner")
    result = pytester.runpytest_subprocess("-p", "fastapi_async_katas.pytest_plugin.course", "-p", "no:randomly", "test_outer.py")
    result.stdout.fnmatch_lines(["*2 passed*"])


def _nothing() -> None:
    return None


def test_a_library_thread_is_named_with_whose_it_is_and_a_plain_one_by_its_name():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    plain = threading.Thread(target=_nothing, name="mine")
    assert name_of(plain) == "mine"
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_nothing).result(timeout=60)
        manager = pool._executor_manager_thread
        assert name_of(manager) == f"{manager.name}, a ProcessPoolExecutor's"
