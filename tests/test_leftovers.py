"""An app that leaves a thread running after it shut down fails its kata test, and a course run
that is otherwise done is not held open by that thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from fakecourse import make_course

from fastapi_async_katas.engine.leftovers import LEFT_RUNNING

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
