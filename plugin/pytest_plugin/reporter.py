"""The course's side of a run's report: the hint pointer under a failure, what each test measured,
and at the end progress, the JSON report, the hints asked for and the course summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fastapi_async_katas.course import hints
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import ProgressFile
from fastapi_async_katas.course.progress import load as load_progress
from fastapi_async_katas.course.report import TestRecord, build_report, database_figures, run_figures, write_report
from fastapi_async_katas.course.summary import KataResult, course_lines
from fastapi_async_katas.pytest_plugin.explained import ExplainedFailure
from fastapi_async_katas.pytest_plugin.katafixture import LESSER_FIX
from fastapi_async_katas.pytest_plugin.session import RUNS_KEY, SESSION_KEY, KataSession
from fastapi_async_katas.pytest_plugin.world import DATABASE_KEY

POINTER = "Stuck? Run `pytest katas/{number} --reveal` for a hint."
REPORT_WRITTEN = "Report written to {path}"
REPORT_NOT_WRITTEN = "Could not write the report to {path}: {error}"
PROGRESS_NOT_SAVED = "Could not save your progress to {path}: {error}"


# Outermost of the report wrappers: it runs after `explained` has turned the failure into text.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    session = item.config.stash.get(SESSION_KEY, None)
    if session is None:
        return report
    kata = session.kata_for(item.path)
    if kata is not None and isinstance(report.longrepr, ExplainedFailure):
        report.longrepr.text += "\n\n" + POINTER.format(number=kata.number)
    if session.report_path is not None:
        _note_for_report(session, item, report)
    return report


def _note_for_report(session: KataSession, item: pytest.Item, report: pytest.TestReport) -> None:
    kata = session.kata_for(item.path)
    if kata is None:
        return
    tests = session.tests.setdefault(kata.folder, {})
    record = tests.setdefault(report.nodeid, TestRecord(report.nodeid, item.name))
    message, details = _failure_text(report)
    record.note_phase(report.when, report.outcome, report.duration, message, details)
    relative_to = session.submission or session.root
    record.runs = [run_figures(run.as_dict(), relative_to) for run in item.stash.get(RUNS_KEY, [])]
    database = item.stash.get(DATABASE_KEY, None)
    if database is not None:
        record.database = database_figures(database, relative_to)


def _failure_text(report: pytest.TestReport | pytest.CollectReport) -> tuple[str | None, str | None]:
    """The headline and the whole explanation of a failed or skipped phase."""
    if report.passed:
        return None, None
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]), None
    crash = getattr(report.longrepr, "reprcrash", None)
    details = report.longreprtext or None
    headline = getattr(crash, "message", None) or (details.splitlines()[-1] if details else None)
    return headline, details


class CourseReporter:
    """Follows the run kata by kata; at the end records progress, writes the report, prints the summary."""

    def __init__(self, session: KataSession) -> None:
        self.session = session

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            kata = self.session.kata_for(item.path)
            if kata is not None:
                self.session.partial.add(kata.folder)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            kata = self.session.kata_for(item.path)
            if kata is not None:
                self.session.collected[kata.folder] += 1
        for arg in session.config.args:
            kata = self.session.kata_for(self.session.root / arg.split("::")[0])
            if kata is not None and "::" in arg:
                self.session.partial.add(kata.folder)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        kata = self.session.kata_for(self.session.root / report.fspath)
        if kata is None:
            return
        result = self.session.results.setdefault(kata.folder, KataResult())
        result.failed += 1
        message, details = _failure_text(report)
        result.headlines.append(message or report.nodeid)
        if self.session.report_path is not None:
            record = TestRecord(report.nodeid, report.nodeid.rsplit("/", 1)[-1])
            record.note_phase("collect", "failed", 0.0, message, details)
            self.session.tests.setdefault(kata.folder, {})[report.nodeid] = record

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        kata = self.session.kata_for(self.session.root / report.fspath)
        if kata is None:
            return
        result = self.session.results.setdefault(kata.folder, KataResult())
        if report.failed:
            result.failed += 1
            crash = getattr(report.longrepr, "reprcrash", None)
            result.headlines.append(getattr(crash, "message", "") or report.nodeid)
        elif report.when == "call" and report.passed:
            result.passed += 1
            result.lesser += [tuple(value) for name, value in report.user_properties if name == LESSER_FIX]
        elif report.skipped:
            result.skipped += 1

    def pytest_keyboard_interrupt(self) -> None:
        self.session.interrupted = True

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        s = self.session
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            s.interrupted = True
        if s.records_progress and (s.results or s.reveal is not None):
            _record_progress(s)
        elif s.reveal is not None and s.progress is not None:
            s.hint_lines, _ = _hint_section(s, s.progress)
        if s.report_path is not None:
            _write_report(s)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        session = self.session
        if session.reveal is not None:
            _write_section(terminalreporter, "hints", session.hint_lines, markup=_diff_markup)
        if session.records_progress and session.progress is not None:
            lines = course_lines(session.course, session.results, progress=session.progress)
        else:
            lines = course_lines(session.course, session.results, against=session.against)
        if lines and session.notes:
            lines += ["", *session.notes]
        elif session.notes:
            lines = session.notes
        _write_section(terminalreporter, "course", lines)


def _record_progress(session: KataSession) -> None:
    """Note this run's results and revealed hints in the progress file, loaded afresh."""
    state = load_progress(session.root)
    for kata in session.course:
        result = session.results.get(kata.folder)
        if result is None:
            continue
        if result.failed:
            state.record_result(kata.folder, False)
        elif result.solved and _ran_whole_kata(session, kata, result):
            state.record_result(kata.folder, True)
    if session.reveal is not None:
        session.hint_lines, revealed = _hint_section(session, state)
        for folder, levels in revealed.items():
            state.record_revealed(folder, levels)
    try:
        state.save()
    except OSError as exc:
        session.notes.append(PROGRESS_NOT_SAVED.format(path=state.path, error=exc))
    note = state.note()
    if note:
        session.notes.insert(0, note)
    session.progress = state


def _ran_whole_kata(session: KataSession, kata: Kata, result: KataResult) -> bool:
    """A kata counts as solved only when every one of its tests ran (no -k, no single test)."""
    ran = result.passed + result.failed + result.skipped
    return not session.interrupted and kata.folder not in session.partial and ran >= session.collected[kata.folder]


def _write_report(session: KataSession) -> None:
    against = "submission" if session.submission else "solutions" if session.solutions else "app" if session.app_override else "learner"
    tests = {folder: list(records.values()) for folder, records in session.tests.items()}
    app_paths = {k.folder: session.app_path(k) for k in session.course}
    data = build_report(session.course, tests, app_paths, against=against, submission=session.submission)
    if session.graded:
        data["katas"] = [session.graded.get(entry["folder"], entry) for entry in data["katas"]]
        data["solved"] = sum(entry["status"] == "solved" for entry in data["katas"])
    assert session.report_path is not None
    try:
        write_report(session.report_path, data)
    except OSError as exc:
        session.notes.append(REPORT_NOT_WRITTEN.format(path=session.report_path, error=exc))
    else:
        session.notes.append(REPORT_WRITTEN.format(path=session.report_path))


def _write_section(terminalreporter: Any, title: str, lines: list[str], markup: Any = None) -> None:
    if not lines:
        return
    terminalreporter.write_sep("=", title)
    for line in lines:
        terminalreporter.write_line(line, **(markup(line) if markup else {}))


def _diff_markup(line: str) -> dict[str, bool]:
    """Colours for the lines of a solution diff (hint text is indented, so never matches)."""
    if line.startswith(("+++", "---")):
        return {"bold": True}
    if line.startswith("+"):
        return {"green": True}
    if line.startswith("-"):
        return {"red": True}
    if line.startswith("@@"):
        return {"cyan": True}
    return {}


def _hint_section(session: KataSession, state: ProgressFile) -> tuple[list[str], dict[str, list[int]]]:
    """The hints asked for, for the katas named on the command line, or else the first unsolved one."""
    assert session.reveal is not None
    if session.named:
        katas = session.named
    else:
        ran = [k for k in session.course if k.folder in session.results]
        first = next((k for k in ran if not session.results[k.folder].solved), None)
        if first is None:
            return [hints.NONE_NEEDED], {}
        katas = [first]
    return hints.reveal_lines(katas, session.root, session.reveal, state)
