"""The whole `pytest --solutions` run spreads over worker processes; every other run stays in one."""

from __future__ import annotations

import gc
import types

import pytest
from fakecourse import make_course

from fastapi_async_katas.pytest_plugin import spreading


@pytest.fixture
def course(pytester: pytest.Pytester) -> pytest.Pytester:
    """The fake course, laid out like this one: `testpaths` names katas/, and tests/ holds self-tests."""
    make_course(pytester)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("[tool.pytest.ini_options]", '[tool.pytest.ini_options]\ntestpaths = ["katas"]'))
    pytester.mkdir("tests").joinpath("test_self.py").write_text("def test_self():\n    assert True\n")
    return pytester


def test_the_whole_solutions_run_spreads(course):
    assert spreading.spreads(course.parseconfig("--solutions"))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--solutions", "katas/01"],
        ["--solutions", "katas"],
        ["--solutions", "-n", "0"],
        ["--solutions", "-n", "2"],
        ["--solutions", "--dist", "loadfile"],
        ["--solutions", "-p", "no:xdist"],
        ["--solutions", "--pdb"],
        ["--solutions", "--collect-only"],
        ["--solutions", "--kata-report=report.json"],
    ],
    ids=" ".join,
)
def test_any_other_run_is_left_as_it_is(course, args):
    assert not spreading.spreads(course.parseconfig(*args))


def test_four_workers_per_core_and_at_most_eight(monkeypatch):
    for cores, expected in ((1, 4), (2, 8), (16, 8)):
        monkeypatch.setattr(spreading.os, "sched_getaffinity", lambda pid, n=cores: set(range(n)), raising=False)
        assert spreading.workers() == expected


def test_the_run_says_how_many_workers_share_it_and_every_test_runs(course, monkeypatch):
    monkeypatch.setattr(spreading, "MOST_WORKERS", 1)  # one worker is enough to see the run go through xdist
    result = course.runpytest("--solutions")
    result.stdout.fnmatch_lines(["katas: the tests run in 1 worker process (-n 0 keeps them in this one)", "*1 worker [[]3 items[]]*"])
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["2 of 2 katas in this run solved (against the reference solutions)."])


@pytest.mark.parametrize(("args", "marked"), [(["--solutions"], True), (["--solutions", "-n", "2"], False)], ids=["the run's own", "a learner's -n"])
def test_only_the_workers_the_run_asked_for_are_marked(course, args, marked):
    config = course.parseconfig(*args)
    spreading.pytest_cmdline_main(config)
    node = types.SimpleNamespace(config=config, workerinput={"workerid": "gw0"})
    spreading.pytest_configure_node(node)
    assert spreading.spread_worker(types.SimpleNamespace(workerinput=node.workerinput)) is marked
    assert not spreading.spread_worker(config)  # the controller is no worker


def _worker_session(course: pytest.Pytester, spread: bool) -> pytest.Session:
    worker = course.parseconfig()
    worker.workerinput = {"workerid": "gw0", **({spreading.SPREAD: True} if spread else {})}
    return pytest.Session.from_config(worker)


def test_a_worker_of_the_run_collects_with_the_garbage_collector_off_and_runs_tests_with_it_on(course):
    session = _worker_session(course, spread=True)
    assert gc.isenabled()
    try:
        spreading.pytest_collection(session)
        assert not gc.isenabled()
    finally:
        spreading.pytest_collection_finish(session)
    assert gc.isenabled()


def test_other_collections_leave_the_garbage_collector_alone(course):
    sessions = [pytest.Session.from_config(course.parseconfig()), _worker_session(course, spread=False)]
    for session in sessions:
        spreading.pytest_collection(session)
        assert gc.isenabled()
        spreading.pytest_collection_finish(session)
        assert gc.isenabled()
