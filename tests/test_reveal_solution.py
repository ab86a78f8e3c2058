"""Hints with discipline: revealed levels are remembered, and the solution diff is earned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakecourse import make_course

from fastapi_async_katas.course import hints
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import STATE_FILE, ProgressFile

QUIET_PLUGINS = "-p no:hypothesispytest -p no:benchmark"


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("PYTEST_ADDOPTS", QUIET_PLUGINS)
    make_course(pytester)
    return pytester


def revealed(pytester: pytest.Pytester, folder: str) -> list[int]:
    return json.loads((pytester.path / STATE_FILE).read_text())["katas"][folder]["revealed"]


def test_bare_reveal_shows_the_next_unrevealed_hint_each_time(course):
    first = course.runpytest("katas/02", "--reveal")
    first.stdout.fnmatch_lines(["*= hints =*", "Kata 02 (beta) · hint 1 of 3: A question"], consecutive=True)
    first.stdout.fnmatch_lines([hints.MORE_HINTS.format(next=2, total=3)])
    second = course.runpytest("katas/02", "--reveal")
    second.stdout.fnmatch_lines(["Kata 02 (beta) · hint 2 of 3: A nudge"])
    second.stdout.no_fnmatch_line("*hint 1 of 3*")
    assert revealed(course, "02_beta") == [1, 2]


def seen_every_hint(pytester: pytest.Pytester, folder: str) -> None:
    state = ProgressFile(pytester.path / STATE_FILE)
    state.record_revealed(folder, [1, 2, 3])
    state.save()


def test_bare_reveal_after_every_hint_says_so_and_shows_the_last_one(course):
    seen_every_hint(course, "02_beta")
    result = course.runpytest("katas/02", "--reveal")
    result.stdout.fnmatch_lines([hints.ALL_SEEN, "Kata 02 (beta) · hint 3 of 3: The exact change"], consecutive=True)
    result.stdout.fnmatch_lines([hints.LAST_HINT])


def test_the_solution_is_refused_until_the_kata_passes_or_every_hint_is_seen(course):
    result = course.runpytest("katas/02", "--reveal=solution")
    result.assert_outcomes(failed=1)
    label = "Kata 02 (beta)"
    result.stdout.fnmatch_lines(
        [hints.SOLUTION_REFUSED.format(label=label, seen=0, total=3), hints.SOLUTION_TRY_FIRST.format(number="02")],
        consecutive=True,
    )
    result.stdout.no_fnmatch_line("+++ *")


def test_reveal_all_remembers_every_level(course):
    course.runpytest("katas/02", "--reveal=all").stdout.fnmatch_lines(["*hint 1 of 3*", "*hint 2 of 3*", "*hint 3 of 3*"])
    assert revealed(course, "02_beta") == [1, 2, 3]


def test_the_solution_is_a_diff_from_your_app_once_every_hint_is_seen(course):
    seen_every_hint(course, "02_beta")
    result = course.runpytest("katas/02", "--reveal=solution")
    result.stdout.fnmatch_lines(
        [
            hints.SOLUTION_HEADER.format(label="Kata 02 (beta)"),
            "--- katas/02_beta/app.py (yours)",
            "+++ solutions/02_beta/app.py (reference solution)",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["-    # TODO: answer with pong", '-    return {"pong": False}', '+    return {"pong": True}'], consecutive=True)


def test_the_solution_is_shown_once_the_kata_has_passed(course):
    result = course.runpytest("katas/01", "--reveal=solution")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([hints.SOLUTION_SAME.format(label="Kata 01 (alpha)")])


def test_a_bad_reveal_value_lists_solution_among_the_valid_ones(course):
    result = course.runpytest("katas/02", "--reveal=soluton")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --reveal='soluton' is not a valid value. Valid values: 1, 2, 3, all, solution (or --reveal alone for the next hint)"])


def test_solution_is_allowed_after_a_pass_or_after_every_hint():
    assert hints.solution_allowed(True, [], 3)
    assert hints.solution_allowed(False, [1, 2, 3], 3)
    assert not hints.solution_allowed(False, [1, 3], 3)
    assert hints.solution_allowed(False, [], 0)


def test_the_diff_runs_from_your_file_to_the_solution(tmp_path: Path):
    yours, solution = tmp_path / "yours.py", tmp_path / "solution.py"
    yours.write_text("a = 1\nb = 2\n")
    solution.write_text("a = 1\nb = 3\n")
    lines = hints.solution_diff_lines("K", yours, solution, yours_name="katas/x/app.py", solution_name="solutions/x/app.py")
    assert lines == [
        hints.SOLUTION_HEADER.format(label="K"),
        "--- katas/x/app.py (yours)",
        "+++ solutions/x/app.py (reference solution)",
        "@@ -1,2 +1,2 @@",
        " a = 1",
        "-b = 2",
        "+b = 3",
    ]


def test_bare_reveal_fills_the_first_gap_in_the_hints_you_have_seen(pytester: pytest.Pytester):
    make_course(pytester)
    state = ProgressFile(pytester.path / STATE_FILE)
    state.record_revealed("02_beta", [1, 3])
    beta = Kata("02_beta", "The second kata")
    lines, revealed = hints.reveal_lines([beta], pytester.path, hints.Reveal(hints.NEXT), state)
    assert revealed == {"02_beta": [2]}
    assert lines[0] == "Kata 02 (beta) · hint 2 of 3: A nudge"
    assert lines[-1] == hints.LAST_HINT
