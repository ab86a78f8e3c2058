"""Picking katas on the command line, running them against solutions, and the course summary."""

from __future__ import annotations

import pytest
from fakecourse import make_course


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "120")
    make_course(pytester)
    return pytester


def test_a_kata_number_selects_its_folder(course):
    result = course.runpytest("katas/01")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["katas/01_alpha/test_kata.py .*"])


def test_the_full_folder_name_selects_the_kata_too(course):
    result = course.runpytest("katas/02_beta")
    result.assert_outcomes(failed=1)


def test_a_single_digit_and_a_test_id_work(course):
    result = course.runpytest("katas/2/test_kata.py::test_ping_answers_pong")
    result.assert_outcomes(failed=1)


def test_an_unknown_kata_number_is_a_usage_error_that_lists_the_katas(course):
    result = course.runpytest("katas/07")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: there is no kata '07'. The katas are:", "  01  01_alpha*The first kata", "  02  02_beta*The second kata"])


def test_a_bare_run_works_the_whole_course_and_ends_with_a_summary(course):
    result = course.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= course =*",
            "✔ 01_alpha  The first kata  [[]solved]",
            "✘ 02_beta   The second kata  [[]1 of 1 test failing]",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["Next: kata 02, The second kata.*pytest katas/02*"])


def test_solutions_runs_the_reference_solution(course):
    result = course.runpytest("--solutions", "katas/02")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*against the reference solutions*"])


def test_a_failure_explains_itself_and_points_to_reveal(course):
    result = course.runpytest("katas/02")
    result.stdout.fnmatch_lines(
        [
            "GET /ping returned the wrong data.",
            '  measured: the response body: {"pong": false}',
            '  expected: the response body: {"pong": true}',
            "",
            "Stuck? Run `pytest katas/02 --reveal` for a hint.",
        ],
        consecutive=True,
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_syntax_error_in_one_kata_is_reported_for_that_kata_and_the_others_still_run(course):
    (course.path / "katas" / "01_alpha" / "app.py").write_text("from fastapi import FastAPI\n\napp = FastAPI(\n")
    (course.path / "katas" / "02_beta" / "app.py").write_text((course.path / "solutions" / "02_beta" / "app.py").read_text())
    result = course.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["katas/01_alpha/app.py:3: SyntaxError: *", "*Stuck? Run `pytest katas/01 --reveal`*"])
    result.stdout.fnmatch_lines(["✔ 02_beta*"])


def test_an_app_that_fails_to_import_names_the_line(course):
    (course.path / "katas" / "01_alpha" / "app.py").write_text("import os\n\nos.environ['NOPE']\n")
    result = course.runpytest("katas/01")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["katas/01_alpha/app.py:3: importing the app raised KeyError: 'NOPE'", "    os.environ['NOPE']"])


def test_a_bad_measuring_setting_is_a_usage_error(course):
    result = course.runpytest("--kata-timeout=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --kata-timeout=-1.0 is not valid: give a positive number of seconds"])
