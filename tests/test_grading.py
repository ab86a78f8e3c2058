"""Grading: the course's own tests against a student's app.py files, and the JSON report."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from fakecourse import APP_BROKEN, APP_OK, make_course

from fastapi_async_katas.course.grading import TAMPERED
from fastapi_async_katas.course.progress import STATE_FILE
from fastapi_async_katas.course.report import FAILING, MISSING, SOLVED, TestRecord, kata_status, run_figures, write_report
from fastapi_async_katas.pytest_plugin import SUBMISSION_SPACED, reporter, session

# Each graded kata runs in a fresh interpreter that imports pytest and FastAPI: 8-10 s a test here
# when quiet, past the run's 30 s per test beside a CPU hog.
pytestmark = pytest.mark.timeout(120)

QUIET_PLUGINS = "-p no:hypothesispytest -p no:benchmark"

ALWAYS_PASSES = "def test_ping_answers_pong():\n    pass\n"
SABOTAGE = "raise SystemExit('the student conftest ran')\n"
APP_BLOCKING = """
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping():
    time.sleep(0.15)
    return {"pong": False}
"""


@pytest.fixture
def course(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("PYTEST_ADDOPTS", QUIET_PLUGINS)
    make_course(pytester)
    return pytester


def make_submission(folder: Path, apps: dict[str, str]) -> Path:
    """A student's copy: their app.py files, tests edited to always pass, and hostile conftests."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(SABOTAGE)
    for kata, app in apps.items():
        (folder / "katas" / kata).mkdir(parents=True)
        (folder / "katas" / kata / "app.py").write_text(textwrap.dedent(app))
        (folder / "katas" / kata / "test_kata.py").write_text(ALWAYS_PASSES)
        (folder / "katas" / kata / "conftest.py").write_text(SABOTAGE)
    return folder


@pytest.fixture
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": APP_OK, "02_beta": APP_BLOCKING})


def test_a_copy_whose_tests_always_pass_still_fails_the_course_tests_and_no_progress_is_kept(course, student):
    result = course.runpytest("katas", f"--submission={student}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["GET /ping returned the wrong data."])
    result.stdout.fnmatch_lines([f"1 of 2 katas in this run solved (against the submission in {student})."])
    result.stdout.no_fnmatch_line("*student conftest ran*")
    assert not (course.path / STATE_FILE).exists(), "grading must leave the learner's progress alone"


def test_the_report_gives_each_katas_status_tests_figures_and_failure(course, student):
    report = course.path / "grades" / "alice.json"
    result = course.runpytest("katas", f"--submission={student}", f"--kata-report={report}")
    result.stdout.fnmatch_lines([reporter.REPORT_WRITTEN.format(path=report)])
    data = json.loads(report.read_text())
    assert (data["against"], data["submission"], data["solved"], data["total"]) == ("submission", str(student), 1, 2)
    alpha, beta = data["katas"]
    assert (alpha["status"], alpha["failure"], [t["outcome"] for t in alpha["tests"]]) == (SOLVED, None, ["passed"])
    assert (beta["status"], beta["failure"]) == (FAILING, "GET /ping returned the wrong data.")
    test = beta["tests"][0]
    assert (test["test"], test["outcome"]) == ("test_ping_answers_pong", "failed")
    assert test["details"].startswith("GET /ping returned the wrong data.\n  measured: the response body:")
    measured = test["measured"][0]
    assert (measured["requests"], measured["max_in_flight"], measured["status_counts"]) == (1, 1, {"200": 1})
    assert measured["wall_s"] >= 0.15
    block = measured["blocks"][0]
    assert (block["where"], block["code"], block["kind"]) == ("katas/02_beta/app.py:11", "time.sleep(0.15)", "io")


def test_a_kata_missing_from_the_copy_fails_and_is_reported_missing(course, tmp_path_factory):
    student = make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": APP_OK})
    report = course.path / "report.json"
    result = course.runpytest("katas", f"--submission={student}", f"--kata-report={report}")
    result.assert_outcomes(passed=1, failed=1)
    beta = json.loads(report.read_text())["katas"][1]
    assert beta["status"] == MISSING and beta["failure"].endswith("katas/02_beta/app.py does not exist")


def test_a_copy_inside_the_course_folder_is_never_collected(course):
    student = make_submission(course.path / "submissions" / "bob", {"01_alpha": APP_OK, "02_beta": APP_BROKEN})
    result = course.runpytest("--submission=submissions/bob")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.no_fnmatch_line("*submissions/bob/katas*")
    assert student.is_dir()


def test_naming_the_copys_own_tests_is_a_usage_error(course):
    student = make_submission(course.path / "submissions" / "carol", {"01_alpha": APP_OK})
    # pytest imports the conftest.py beside a path named on its command line before any plugin
    # can object: the plugin refuses to run the tests; not importing the conftest is up to the command.
    (student / "conftest.py").unlink()
    result = course.runpytest("submissions/carol/katas", "--submission=submissions/carol")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = session.SUBMISSION_OWN_TESTS.format(arg="submissions/carol/katas", value="submissions/carol")
    result.stderr.fnmatch_lines(["ERROR: " + message])


def test_a_submission_that_is_not_a_folder_is_a_usage_error_naming_it(course):
    result = course.runpytest("katas", "--submission=nowhere/alice")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + session.SUBMISSION_NOT_A_FOLDER.format(value="nowhere/alice")])


def test_a_submission_without_katas_is_a_usage_error_with_an_example(course, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    result = course.runpytest("katas", f"--submission={empty}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    example = empty / "katas" / "01_alpha" / "app.py"
    result.stderr.fnmatch_lines(["ERROR: " + session.SUBMISSION_WITHOUT_KATAS.format(value=str(empty), example=example)])


def test_a_submission_with_solutions_is_a_usage_error(course, student):
    result = course.runpytest("katas", f"--submission={student}", "--solutions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + session.SUBMISSION_CONFLICT.format(other="--solutions")])


def test_a_report_path_that_is_a_folder_is_a_usage_error(course):
    result = course.runpytest("katas", f"--kata-report={course.path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: " + session.KATA_REPORT_IS_FOLDER.format(value=str(course.path))])


# -- the report's parts --------------------------------------------------------------------


def test_a_failure_outside_the_call_is_an_error_and_the_worst_phase_wins():
    record = TestRecord("k::t", "t")
    record.note_phase("setup", "passed", 0.1, None, None)
    record.note_phase("call", "failed", 0.2, "wrong data", "wrong data\n  measured: ...")
    record.note_phase("teardown", "failed", 0.1, "teardown broke", "...")
    assert (record.outcome, record.message, round(record.duration_s, 3)) == ("error", "teardown broke", 0.4)


def test_a_kata_status_comes_from_its_tests():
    passed, failed = TestRecord("a", "a"), TestRecord("b", "b", outcome="failed")
    assert kata_status([passed], app_exists=True) == SOLVED
    assert kata_status([passed, failed], app_exists=True) == FAILING
    assert kata_status([failed], app_exists=False) == MISSING


def test_blocks_get_a_short_file_and_line(tmp_path: Path):
    run = {"blocks": [{"file": str(tmp_path / "katas" / "01_x" / "app.py"), "line": 7}], "unawaited": []}
    assert run_figures(run, tmp_path)["blocks"][0]["where"] == "katas/01_x/app.py:7"


def test_the_report_file_is_written_with_its_folders(tmp_path: Path):
    path = tmp_path / "a" / "b" / "report.json"
    write_report(path, {"katas": []})
    assert json.loads(path.read_text()) == {"katas": []}
    assert list(path.parent.iterdir()) == [path]


# -- a student's code cannot forge the grade or touch the grader ------------------------------

FORGER = """
import fastapi_async_katas.engine.judging

fastapi_async_katas.engine.judging.Run.fail = lambda self, *args, **kwargs: self

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping():
    return {"pong": True}
"""
EDITS_THE_TESTS = """
from pathlib import Path

for test in Path("katas").glob("*/test_kata.py"):
    test.write_text("def test_ping_answers_pong():\\n    pass\\n")

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping():
    return {"pong": False}
"""
KILLS_ITSELF = """
import os
import signal

os.kill(os.getpid(), signal.SIGKILL)
"""
EXITS_AT_ONCE = """
import os

os._exit(0)
"""


def committed(course: pytest.Pytester) -> None:
    """The grader's checkout as git sees it, with nothing to commit (and, as the course's own, what
    Python compiles ignored)."""
    (course.path / ".gitignore").write_text("__pycache__/\n")
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=Foo", "-c", "user.email=foo@example.com", "commit", "-qm", "course"]):
        subprocess.run(["git", *command], cwd=course.path, check=True, capture_output=True)


def git_status(course: pytest.Pytester) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=course.path, check=True, capture_output=True, text=True).stdout


def test_a_kata_that_patches_the_grader_is_reported_tampered_and_cannot_pass_the_others(course, tmp_path_factory):
    student = make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": FORGER, "02_beta": APP_BROKEN})
    report = course.path / "grades" / "forger.json"
    result = course.runpytest("katas", f"--submission={student}", f"--kata-report={report}")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["the app changed the grader: fastapi_async_katas.engine.judging.Run.fail*replaced while the test ran."])
    alpha, beta = json.loads(report.read_text())["katas"]
    assert alpha["status"] == "tampered" and alpha["failure"].startswith(TAMPERED)
    assert (beta["status"], beta["failure"]) == (FAILING, "GET /ping returned the wrong data.")


def test_a_kata_that_edits_the_trusted_tests_changes_nothing_of_the_graders(course, tmp_path_factory):
    committed(course)
    student = make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": EDITS_THE_TESTS, "02_beta": APP_BROKEN})
    report = tmp_path_factory.mktemp("grades") / "report.json"
    result = course.runpytest("katas", f"--submission={student}", f"--kata-report={report}")
    result.assert_outcomes(failed=2)
    assert git_status(course) == ""
    assert [k["status"] for k in json.loads(report.read_text())["katas"]] == [FAILING, FAILING]


@pytest.mark.parametrize("app", [KILLS_ITSELF, EXITS_AT_ONCE], ids=["killed", "os._exit"])
def test_a_kata_whose_process_ends_without_a_result_fails_and_the_others_are_still_graded(course, tmp_path_factory, app):
    committed(course)
    student = make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": app, "02_beta": APP_OK})
    report = tmp_path_factory.mktemp("grades") / "report.json"
    result = course.runpytest("katas", f"--submission={student}", f"--kata-report={report}")
    result.assert_outcomes(passed=1, failed=1)
    alpha, beta = json.loads(report.read_text())["katas"]
    assert alpha["status"] == FAILING and beta["status"] == SOLVED
    assert alpha["failure"].startswith("the kata's process ended without a result") or "os._exit(0)" in alpha["failure"]
    assert git_status(course) == ""


def test_a_submission_written_with_a_space_is_refused_before_its_conftest_runs(course, tmp_path_factory):
    student = make_submission(tmp_path_factory.mktemp("student"), {"01_alpha": APP_OK})
    (student / "pytest.ini").write_text("[pytest]\n")
    result = course.runpytest("katas", "--submission", str(student))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {SUBMISSION_SPACED.format(value=str(student))}"])
    assert "student conftest ran" not in result.stdout.str() + result.stderr.str()
