"""The course plugin: the options of a course, and what a run of it tests.

Registered by the package's plugin only in a course. It reads the options into the run's
`KataSession`, tells the world's fixtures which files are the learner's, keeps a student's
copy out of collection, and registers the reporter that ends the run with the summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_async_katas.course import hints
from fastapi_async_katas.course.listing import CourseError, load_course
from fastapi_async_katas.course.progress import STATE_FILE
from fastapi_async_katas.course.progress import load as load_progress
from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.pytest_plugin.options import settings_of
from fastapi_async_katas.pytest_plugin.session import (
    SESSION_KEY,
    KataSession,
    parse_kata_report,
    parse_reveal,
    parse_submission,
    refuse_submission_tests,
    select_katas,
)
from fastapi_async_katas.pytest_plugin.world import USER_FILES

# Registered by the package's plugin (see PLUGINS there).
PLUGINS = [
    "fastapi_async_katas.pytest_plugin.ending",
    "fastapi_async_katas.pytest_plugin.katafixture",
    "fastapi_async_katas.pytest_plugin.grading",
    "fastapi_async_katas.pytest_plugin.inconclusive",
    "fastapi_async_katas.pytest_plugin.leftovers",
    "fastapi_async_katas.pytest_plugin.reporter",
    "fastapi_async_katas.pytest_plugin.serverstart",
    "fastapi_async_katas.pytest_plugin.spreading",
    "fastapi_async_katas.pytest_plugin.tamper",
    "fastapi_async_katas.pytest_plugin.watchdog",
]

REVEAL_HELP = (
    "show a hint for the kata: the next one you have not seen, a level (--reveal=2), every hint (--reveal=all), "
    "or the reference solution as a diff from your app.py (--reveal=solution, once the kata has passed or every hint was seen)"
)
SOLUTIONS_HELP = "run the katas against their reference solutions in solutions/, plus the plugin's self-tests"
KATA_APP_HELP = "run the selected kata's tests against this app file instead (the contract check uses it)"
SUBMISSION_HELP = (
    "grade a student's copy of the course: run the course's own tests against DIR/katas/NN_slug/app.py "
    "(the copy's own tests are never run). Write it as --submission=DIR"
)
KATA_REPORT_HELP = "write a JSON report to FILE: each kata's status, each test's outcome, what was measured, and why a test failed"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas", "FastAPI async katas")
    group.addoption("--reveal", nargs="?", const=hints.NEXT, default=None, metavar="LEVEL", help=REVEAL_HELP)
    group.addoption("--solutions", action="store_true", default=False, help=SOLUTIONS_HELP)
    group.addoption("--kata-app", default=None, metavar="FILE", help=KATA_APP_HELP)
    group.addoption("--submission", default=None, metavar="DIR", help=SUBMISSION_HELP)
    group.addoption("--kata-report", default=None, metavar="FILE", help=KATA_REPORT_HELP)


def pytest_configure(config: pytest.Config) -> None:
    root = config.rootpath
    try:
        course = load_course(root)
    except CourseError:
        course = []
    session = KataSession(root=root, course=course, solutions=config.getoption("solutions"))
    session.settings = settings_of(config)
    app = config.getoption("kata_app")
    if app:
        session.app_override = Path(app).resolve()
        if not session.app_override.is_file():
            raise pytest.UsageError(f"--kata-app={app!r}: no such file")
    parse_submission(config, session)
    parse_kata_report(config, session)
    if course:
        select_katas(config, session)
        refuse_submission_tests(config, session)
    parse_reveal(config, session)
    session.progress = load_progress(root)
    config.stash[SESSION_KEY] = session
    config.stash[USER_FILES] = lambda path: _user_files(session, path)
    if course:
        # Imported here, not above: the package's plugin imports the module itself (from `PLUGINS`) first.
        from fastapi_async_katas.pytest_plugin.reporter import CourseReporter

        config.pluginmanager.register(CourseReporter(session), "katas-course-reporter")


def _user_files(session: KataSession, path: Path) -> UserFiles | None:
    """A kata's test blames only the folder of the app it is tested against."""
    kata = session.kata_for(path)
    return UserFiles.under([session.app_path(kata).parent]) if kata is not None else None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never collect anything inside a submission: a student's tests and conftest are not trusted."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None or session.submission is None:
        return None
    path = collection_path.resolve()
    return True if path == session.submission or session.submission in path.parents else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = config.stash.get(SESSION_KEY, None)
    if session is None or not session.course:
        return []
    against = session.against or f"your app.py files (progress kept in {STATE_FILE})"
    s = session.settings
    lines = [f"katas: testing {against}; request timeout {s.request_timeout_s:g} s; blocking at {s.block_ms:g} ms"]
    if session.report_path is not None:
        lines.append(f"katas: writing the report to {session.report_path}")
    return lines


