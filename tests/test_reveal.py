"""`--reveal`: which hint levels are shown, for which katas, and what a bad value says."""

from __future__ import annotations

import pytest
from fakecourse import make_course

from fastapi_async_katas.course.hints import RevealError, parse_reveal


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "120")
    make_course(pytester)
    return pytester


def test_reveal_shows_the_first_hint_of_the_named_kata(course):
    result = course.runpytest("katas/02", "--reveal")
    result.stdout.fnmatch_lines(
        ["*= hints =*", "Kata 02 (beta) · hint 1 of 3: A question", "    Which value does the route return?"],
        consecutive=True,
    )
    result.stdout.no_fnmatch_line("Kata 02 (beta) · hint 2 of 3*")


def test_reveal_shows_the_second_hint_when_asked_for_level_2(course):
    result = course.runpytest("katas/02", "--reveal=2")
    result.stdout.fnmatch_lines(["Kata 02 (beta) · hint 2 of 3: A nudge", "    Look at the dictionary."])
    result.stdout.no_fnmatch_line("Kata 02 (beta) · hint 1 of 3*")


def test_reveal_all_shows_every_hint_in_order(course):
    result = course.runpytest("katas/02", "--reveal=all")
    result.stdout.fnmatch_lines(["*hint 1 of 3*", "*hint 2 of 3*", "*hint 3 of 3: The exact change*"])


def test_reveal_before_the_path_still_names_the_kata(course):
    result = course.runpytest("--reveal", "katas/02")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["Kata 02 (beta) · hint 1 of 3: A question"])


def test_a_bare_reveal_shows_hints_only_for_the_first_unsolved_kata(course):
    result = course.runpytest("--reveal")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["Kata 02 (beta) · hint 1 of 3: A question"])
    result.stdout.no_fnmatch_line("Kata 01*")


@pytest.mark.parametrize("value", ["x", "0", "4", "-1", "1.5"])
def test_a_bad_reveal_value_is_a_usage_error_that_lists_the_valid_values(course, value):
    result = course.runpytest("katas/02", f"--reveal={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --reveal={value!r} is not a valid value. Valid values: 1, 2, 3, all, solution*"])


def test_parse_reveal_accepts_levels_all_and_solution_only():
    assert parse_reveal("2", 3).level == 2
    assert parse_reveal("ALL", 3).kind == "all"
    assert parse_reveal("solution", 3).kind == "solution"
    with pytest.raises(RevealError):
        parse_reveal("3", 2)
