"""Progress that lasts: the state file, the course summary, and `katas` (the course list)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakecourse import make_course

from fastapi_async_katas.commands import listing
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import BACKUPS_DIR, MISSING_NOTE, STATE_FILE, ProgressFile, load
from fastapi_async_katas.course.summary import ALL_SOLVED, COURSE_PROGRESS, KataResult, course_lines, next_kata

# Plugins that are installed here but not used by the course; importing them afresh in every
# in-process run costs seconds.
QUIET_PLUGINS = "-p no:hypothesispytest -p no:benchmark"
COURSE = [Kata("01_alpha", "The first kata"), Kata("02_beta", "The second kata")]


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("PYTEST_ADDOPTS", QUIET_PLUGINS)
    make_course(pytester)
    return pytester


def state_of(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / STATE_FILE).read_text())["katas"]


# -- the state file on its own -------------------------------------------------------------


def test_a_missing_state_file_loads_empty_and_says_it_is_new(tmp_path: Path):
    state = load(tmp_path)
    assert state.katas == {} and state.rebuilt_because is None
    assert state.note() == MISSING_NOTE.format(name=STATE_FILE)


def test_a_corrupt_state_file_is_rebuilt_and_the_old_one_kept_aside(tmp_path: Path):
    (tmp_path / STATE_FILE).write_text("{ not json")
    state = load(tmp_path)
    assert state.katas == {} and "could not be read" in (state.rebuilt_because or "")
    state.record_result("01_alpha", True)
    state.save()
    kept = list((tmp_path / BACKUPS_DIR).glob("state-*.json"))
    assert [k.read_text() for k in kept] == ["{ not json"]
    assert str(kept[0].relative_to(tmp_path)) in (state.note() or "")
    assert load(tmp_path).katas["01_alpha"].solved


def test_a_corrupt_state_file_that_cannot_be_kept_aside_is_not_replaced_and_leaves_nothing_behind(tmp_path: Path, monkeypatch):
    (tmp_path / STATE_FILE).write_text("{ not json")
    state = load(tmp_path)
    state.record_result("01_alpha", True)
    real_replace = os.replace

    def cannot_move(src, dst):
        if Path(dst).parent.name == BACKUPS_DIR:
            raise OSError("read-only")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", cannot_move)
    with pytest.raises(OSError, match="could not be kept aside"):
        state.save()
    assert (tmp_path / STATE_FILE).read_text() == "{ not json"
    assert list((tmp_path / BACKUPS_DIR).iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".katas-state.")] == [STATE_FILE]


@pytest.mark.parametrize("text", ['{"version": 1, "katas": {"01_alpha": {"revealed": ["x"]}}}', '{"version": 1, "katas": []}', "[]", '{"version": 99, "katas": {}}'])
def test_a_state_file_of_the_wrong_shape_counts_as_corrupt(tmp_path: Path, text: str):
    (tmp_path / STATE_FILE).write_text(text)
    assert load(tmp_path).rebuilt_because is not None


def test_first_solved_is_kept_when_a_kata_fails_later(tmp_path: Path):
    state = ProgressFile(tmp_path / STATE_FILE)
    assert state.record_result("01_alpha", True) is True
    first = state.kata("01_alpha").first_solved
    assert state.record_result("01_alpha", False) is False
    entry = state.kata("01_alpha")
    assert (entry.status, entry.first_solved, entry.solved, entry.ever_solved) == ("failing", first, False, True)


# -- the summary lines ---------------------------------------------------------------------


def test_the_summary_counts_the_whole_course_and_names_the_next_kata(tmp_path: Path):
    state = ProgressFile(tmp_path / STATE_FILE)
    state.record_result("01_alpha", True)
    lines = course_lines(COURSE, {"01_alpha": KataResult(passed=1)}, progress=state)
    assert lines == [
        "✔ 01_alpha  The first kata  [solved]",
        "",
        COURSE_PROGRESS.format(solved=1, total=2),
        "Next: kata 02, The second kata. Read katas/02_beta/README.md, then run: pytest katas/02",
    ]


def test_the_next_kata_is_the_one_failing_in_this_run_before_an_earlier_unsolved_one(tmp_path: Path):
    state = ProgressFile(tmp_path / STATE_FILE)
    state.record_result("02_beta", False)
    assert next_kata(COURSE, state, {"02_beta": KataResult(failed=1)}) == COURSE[1]
    assert next_kata(COURSE, state, {}) == COURSE[0]


def test_when_every_kata_is_solved_the_summary_says_so(tmp_path: Path):
    state = ProgressFile(tmp_path / STATE_FILE)
    for kata in COURSE:
        state.record_result(kata.folder, True)
    assert course_lines(COURSE, {"02_beta": KataResult(passed=1)}, progress=state)[-2:] == ["2 of 2 katas solved.", ALL_SOLVED]


# -- runs ----------------------------------------------------------------------------------


def test_a_run_records_each_katas_last_result_and_when_it_was_first_solved(course):
    result = course.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    state = state_of(course)
    assert state["01_alpha"]["status"] == "solved" and state["01_alpha"]["first_solved"]
    assert state["02_beta"]["status"] == "failing" and state["02_beta"]["first_solved"] is None
    result.stdout.fnmatch_lines(
        [
            "1 of 2 katas solved.",
            "Next: kata 02, The second kata. Edit katas/02_beta/app.py, then run: pytest katas/02*",
            "",
            MISSING_NOTE.format(name=STATE_FILE),
        ],
        consecutive=True,
    )


def test_progress_lasts_from_one_run_to_the_next(course):
    course.runpytest("katas/01")
    result = course.runpytest("katas/02")
    result.stdout.fnmatch_lines(["1 of 2 katas solved.", "Next: kata 02, The second kata.*"], consecutive=True)
    result.stdout.no_fnmatch_line("Started a new progress file*")


def test_a_corrupt_state_file_never_breaks_a_run_and_the_run_says_so_in_one_line(course):
    (course.path / STATE_FILE).write_text("\x00garbage")
    result = course.runpytest("katas/01")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"{STATE_FILE} could not be read (*); started a fresh one (the unreadable file was kept as {BACKUPS_DIR}/state-*.json)."])
    assert state_of(course)["01_alpha"]["status"] == "solved"


@pytest.mark.parametrize("args", [["--solutions"], ["--kata-app", "solutions/02_beta/app.py"]])
def test_runs_against_other_apps_leave_the_learners_progress_alone(course, args):
    result = course.runpytest("katas/02", *args)
    result.assert_outcomes(passed=1)
    assert not (course.path / STATE_FILE).exists()
    result.stdout.no_fnmatch_line("*katas solved.")


def test_one_passing_test_picked_by_id_does_not_mark_the_kata_solved(course):
    course.runpytest("katas/01/test_kata.py::test_ping_answers_pong").assert_outcomes(passed=1)
    assert "01_alpha" not in state_of(course)


def test_a_failure_picked_by_id_still_counts_as_failing(course):
    course.runpytest("katas/02/test_kata.py::test_ping_answers_pong").assert_outcomes(failed=1)
    assert state_of(course)["02_beta"]["status"] == "failing"


# -- katas (the course list) ---------------------------------------------------------------


def test_katas_lists_each_katas_status_and_the_next_step(course, monkeypatch, capsys):
    course.runpytest()
    capsys.readouterr()
    monkeypatch.chdir(course.path / "katas")
    assert listing.main([], prog="katas") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("  ✔ 01  The first kata   solved on ")
    assert out[3] == "→ ✘ 02  The second kata  failing"
    assert out[5:7] == ["1 of 2 katas solved.", "Next: kata 02, The second kata. Edit katas/02_beta/app.py, then run: pytest katas/02   (stuck? add --reveal)"]


def test_katas_before_any_run_points_at_the_first_kata(course, monkeypatch, capsys):
    monkeypatch.chdir(course.path)
    assert listing.main([], prog="katas") == 0
    out = capsys.readouterr().out
    assert "→ · 01  The first kata   not started" in out
    assert "Next: kata 01, The first kata. Read katas/01_alpha/README.md" in out
    assert not (course.path / STATE_FILE).exists()


def test_katas_survives_a_corrupt_state_file_and_says_so(course, monkeypatch, capsys):
    (course.path / STATE_FILE).write_text("[1, 2")
    monkeypatch.chdir(course.path)
    assert listing.main([], prog="katas") == 0
    assert "could not be read" in capsys.readouterr().out.splitlines()[-1]
    assert load(course.path).rebuilt_because is None
