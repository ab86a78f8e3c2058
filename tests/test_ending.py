"""A course run freezes what is alive at the end of its outermost session, so that the garbage
collections after it skip the heap; a run inside another, or outside a course, leaves it be."""

from __future__ import annotations

import re
import types

import pytest
from fakecourse import make_course

from fastapi_async_katas.pytest_plugin import ending
from fastapi_async_katas.pytest_plugin.ending import sessions_running

SAY_FROZEN_AT_EXIT = """
import atexit
import gc

atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count()}"))
"""


def frozen_at_exit(result: pytest.RunResult) -> int:
    found = re.search(r"frozen at exit: (\d+)", result.stdout.str())
    assert found, result.stdout.str()
    return int(found.group(1))


def test_a_course_run_ends_with_its_heap_frozen(pytester: pytest.Pytester):
    make_course(pytester)
    pytester.makeconftest(SAY_FROZEN_AT_EXIT)
    result = pytester.runpytest_subprocess("katas/01_alpha")
    result.assert_outcomes(passed=1)
    # Everything alive at the end: pytest, FastAPI, the app, the collected test.
    assert frozen_at_exit(result) > 10_000


def test_a_run_outside_a_course_leaves_the_collector_alone(pytester: pytest.Pytester):
    pytester.makeconftest(SAY_FROZEN_AT_EXIT)
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert frozen_at_exit(result) == 0


def test_a_course_run_inside_another_session_freezes_nothing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    make_course(pytester)
    frozen: list[bool] = []
    monkeypatch.setattr(ending, "gc", types.SimpleNamespace(freeze=lambda: frozen.append(True)))
    pytester.runpytest("katas/01_alpha").assert_outcomes(passed=1)
    assert frozen == []


def test_a_test_runs_inside_one_session():
    assert sessions_running() == 1
