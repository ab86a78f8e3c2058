"""What every kata test checks without being told: the app's code never blocked the event loop
while it served the test's requests, unless the test waives it and says why."""

from __future__ import annotations

import textwrap

import pytest
from fakecourse import make_course

from fastapi_async_katas.pytest_plugin.katafixture import EVERY_TEST_CHECKS, LOOP_MAY_BLOCK

BLOCKING_APP = """
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping():
    time.sleep(0.15)
    return {"pong": True}
"""
TEST_WITH = """
import pytest


{marker}
async def test_ping_answers_pong(kata):
    async with kata.serve() as app:
        run = await app.fire("GET", "/ping")
    run.expect_status(200).expect_json({{"pong": True}})
"""


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "200")
    make_course(pytester)
    (pytester.path / "katas" / "01_alpha" / "app.py").write_text(textwrap.dedent(BLOCKING_APP))
    return pytester


def with_marker(course: pytest.Pytester, marker: str) -> None:
    (course.path / "katas" / "01_alpha" / "test_kata.py").write_text(textwrap.dedent(TEST_WITH.format(marker=marker)))


def test_a_kata_test_that_checks_only_the_answer_still_fails_when_the_loop_was_blocked(course):
    with_marker(course, "")
    result = course.runpytest("katas/01")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["The event loop was blocked for * ms at katas/01_alpha/app.py:11, and served nobody meanwhile.", "*", "*", "", EVERY_TEST_CHECKS],
        consecutive=True,
    )


def test_a_test_may_waive_the_check_with_a_reason(course):
    with_marker(course, f'@pytest.mark.{LOOP_MAY_BLOCK}(reason="this test is about the answer only")')
    course.runpytest("katas/01").assert_outcomes(passed=1)


def test_a_waiver_without_a_reason_is_refused(course):
    with_marker(course, f"@pytest.mark.{LOOP_MAY_BLOCK}")
    result = course.runpytest("katas/01")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*@pytest.mark.{LOOP_MAY_BLOCK} needs a reason*"])


def test_the_waiver_marker_is_registered(course):
    course.runpytest("--markers").stdout.fnmatch_lines([f"@pytest.mark.{LOOP_MAY_BLOCK}(reason): *"])
