"""Loading and starting an app as a real server does: imported with no event loop running, then
served by uvicorn on 127.0.0.1 once its kata's tests have passed."""

from __future__ import annotations

import textwrap

import pytest
from fakecourse import make_course

from fastapi_async_katas.engine.loading import NEEDS_A_LOOP
from fastapi_async_katas.engine.serverstart import BUT_TESTS_PASS, DID_NOT_START
from fastapi_async_katas.pytest_plugin.serverstart import FIX_THE_TESTS_FIRST, NAME

NEEDS_A_LOOP_AT_IMPORT = """
import asyncio

from fastapi import FastAPI

app = FastAPI()
loop = asyncio.get_running_loop()


@app.get("/ping")
async def ping():
    return {"pong": True}
"""
# Starts in the test's loop but not on a server's thread: a stand-in for any set-up that only
# works inside the test, such as a signal handler.
ONLY_IN_THE_TEST = """
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("set-up only the test's thread can do")
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/ping")
async def ping():
    return {"pong": True}
"""


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "200")
    make_course(pytester)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("katas_server_check = false", "katas_server_check = true"))
    return pytester


def app_of(course: pytest.Pytester, source: str) -> None:
    (course.path / "katas" / "01_alpha" / "app.py").write_text(textwrap.dedent(source))


def test_a_kata_that_passes_is_then_started_on_a_real_server(course):
    result = course.runpytest("katas/01", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"katas/01_alpha/test_kata.py::{NAME} PASSED*"])


def test_an_app_that_needs_a_loop_at_import_fails_with_the_line_and_where_set_up_belongs(course):
    app_of(course, NEEDS_A_LOOP_AT_IMPORT)
    result = course.runpytest("katas/01", "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "katas/01_alpha/app.py:7: this line needs a running event loop, but a server imports your app before it starts one.",
            "    loop = asyncio.get_running_loop()",
            "  (RuntimeError: no running event loop)",
            NEEDS_A_LOOP.splitlines()[-1],
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines([f"SKIPPED*{FIX_THE_TESTS_FIRST}"])


def test_an_app_whose_tests_pass_but_that_cannot_start_on_a_server_fails_the_run(course):
    app_of(course, ONLY_IN_THE_TEST)
    result = course.runpytest("katas/01")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            DID_NOT_START.format(app="katas/01_alpha/app.py"),
            "  uvicorn: RuntimeError: set-up only the test's thread can do",
            "    katas/01_alpha/app.py:11 in lifespan()",
            "*raise RuntimeError*",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines([BUT_TESTS_PASS])
    result.stdout.no_fnmatch_line("*Captured log*")
    result.stdout.fnmatch_lines(["✘ 01_alpha  The first kata  [[]1 of 2 tests failing]"])


def test_the_server_is_not_tried_while_the_kata_fails(course):
    result = course.runpytest("katas/02", "-rs")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED*{FIX_THE_TESTS_FIRST}"])


def test_a_single_test_or_a_keyword_runs_no_server(course):
    course.runpytest("katas/01/test_kata.py::test_ping_answers_pong").assert_outcomes(passed=1)
    course.runpytest("katas/01", "-k", "ping").assert_outcomes(passed=1)
