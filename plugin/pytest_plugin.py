"""The pytest plugin: options, kata selection, fixtures, explained failures, hints and summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation

from plugin import hints
from plugin.course import KATAS_DIR, CourseError, Kata, expand_argument, kata_of_path, load_course
from plugin.firing import Harness, Settings, StartupError, serve
from plugin.judging import KataFailure, Run
from plugin.loading import KataLoadError, load_app
from plugin.measuring.userfiles import UserFiles
from plugin.progress import STATE_FILE, ProgressFile
from plugin.progress import load as load_progress
from plugin.report import TestRecord, build_report, database_figures, run_figures, write_report
from plugin.summary import KataResult, course_lines
from plugin.world.database import ENV_VAR as DATABASE_ENV_VAR
from plugin.world.database import Database

# The kata world's other parts, each a small pytest plugin with its own fixtures; and how
# `pytest --solutions` spreads over worker processes.
pytest_plugins = ["plugin.world.upstream", "plugin.world.storage", "plugin.measuring.threadpool", "plugin.spreading"]

REVEAL_HELP = (
    "show a hint for the kata: the next one you have not seen, a level (--reveal=2), every hint (--reveal=all), "
    "or the reference solution as a diff from your app.py (--reveal=solution, once the kata has passed or every hint was seen)"
)
SOLUTIONS_HELP = "run the katas against their reference solutions in solutions/, plus the plugin's self-tests"
KATA_APP_HELP = "run the selected kata's tests against this app file instead (the contract check uses it)"
TIMEOUT_HELP = "seconds a request may take before it counts as hung (default: 5)"
BLOCK_MS_HELP = "a loop step at least this long, in ms, counts as blocking (default: 50)"
SUBMISSION_HELP = (
    "grade a student's copy of the course: run the course's own tests against DIR/katas/NN_slug/app.py "
    "(the copy's own tests are never run). Write it as --submission=DIR"
)
KATA_REPORT_HELP = "write a JSON report to FILE: each kata's status, each test's outcome, what was measured, and why a test failed"
POINTER = "Stuck? Run `pytest katas/{number} --reveal` for a hint."

SUBMISSION_NOT_A_FOLDER = (
    "--submission={value!r} (from the command line) is not a folder. Give the top folder of a student's "
    "copy of the course, the one that holds katas/NN_slug/app.py."
)
SUBMISSION_WITHOUT_KATAS = (
    "--submission={value!r} (from the command line) holds no kata's app.py: expected files such as {example}. "
    "Give the top folder of a student's copy of the course."
)
SUBMISSION_TOOK_SETTINGS = (
    "--submission={value!r}: pytest took its settings from the submission ({inifile}), so the student's "
    "copy would decide how it is graded. Write the option with '=' so pytest does not read it as a test "
    "path, and run from the course's folder: pytest katas --submission={value}"
)
SUBMISSION_CONFLICT = "--submission cannot be combined with {other}: both say which app.py files to test. Use one of them."
SUBMISSION_OWN_TESTS = (
    "{arg!r} is inside the submission {value!r}: a student's own tests are never run. "
    "Run the course's tests against it instead: pytest katas --submission={value}"
)
KATA_REPORT_IS_FOLDER = "--kata-report={value!r} (from the command line) is a folder. Give a file name, such as grades/report.json."
REPORT_WRITTEN = "Report written to {path}"
REPORT_NOT_WRITTEN = "Could not write the report to {path}: {error}"
PROGRESS_NOT_SAVED = "Could not save your progress to {path}: {error}"

EXPLAINED = (KataFailure, KataLoadError, StartupError)


@dataclass
class KataSession:
    """Per-session state of the plugin, kept in `config.stash`."""

    root: Path
    course: list[Kata]
    solutions: bool = False
    app_override: Path | None = None
    submission: Path | None = None
    report_path: Path | None = None
    reveal: hints.Reveal | None = None
    named: list[Kata] = field(default_factory=list)
    results: dict[str, KataResult] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    progress: ProgressFile | None = None
    collected: Counter[str] = field(default_factory=Counter)
    partial: set[str] = field(default_factory=set)
    interrupted: bool = False
    tests: dict[str, dict[str, TestRecord]] = field(default_factory=dict)
    hint_lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def records_progress(self) -> bool:
        """Only a run against the learner's own app.py files counts as the learner's progress."""
        return not self.solutions and self.app_override is None and self.submission is None

    @property
    def against(self) -> str:
        """What the run tests, for the summary; empty for the learner's own files."""
        if self.app_override is not None:
            return str(self.app_override)
        if self.submission is not None:
            return f"the submission in {self.submission}"
        return "the reference solutions" if self.solutions else ""

    def app_path(self, kata: Kata) -> Path:
        if self.app_override is not None:
            return self.app_override
        if self.submission is not None:
            return self.submission / KATAS_DIR / kata.folder / "app.py"
        base = kata.solution_dir(self.root) if self.solutions else kata.kata_dir(self.root)
        return base / "app.py"

    def kata_for(self, path: Path) -> Kata | None:
        return kata_of_path(self.course, self.root, path)


SESSION_KEY = pytest.StashKey[KataSession]()
RUNS_KEY = pytest.StashKey[list[Run]]()
DATABASE_KEY = pytest.StashKey[Database]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas", "FastAPI async katas")
    group.addoption("--reveal", nargs="?", const=hints.NEXT, default=None, metavar="LEVEL", help=REVEAL_HELP)
    group.addoption("--solutions", action="store_true", default=False, help=SOLUTIONS_HELP)
    group.addoption("--kata-app", default=None, metavar="FILE", help=KATA_APP_HELP)
    group.addoption("--kata-timeout", type=float, default=None, metavar="SECONDS", help=TIMEOUT_HELP)
    group.addoption("--kata-block-ms", type=float, default=None, metavar="MS", help=BLOCK_MS_HELP)
    group.addoption("--submission", default=None, metavar="DIR", help=SUBMISSION_HELP)
    group.addoption("--kata-report", default=None, metavar="FILE", help=KATA_REPORT_HELP)
    parser.addini("kata_timeout", TIMEOUT_HELP, default=None)
    parser.addini("kata_block_ms", BLOCK_MS_HELP, default=None)


def _setting(config: pytest.Config, name: str, default: float) -> float:
    """A measuring setting: the command line wins, then the ini file, then the default."""
    value = config.getoption(name)
    source = f"--{name.replace('_', '-')}"
    if value is None:
        value, source = config.getini(name), f"the ini setting {name}"
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number <= 0:
        raise pytest.UsageError(f"{source}={value!r} is not valid: give a positive number of {'seconds' if 'timeout' in name else 'milliseconds'}")
    return number


def pytest_configure(config: pytest.Config) -> None:
    root = config.rootpath
    try:
        course = load_course(root)
    except CourseError:
        course = []
    session = KataSession(root=root, course=course, solutions=config.getoption("solutions"))
    session.settings = Settings(
        request_timeout_s=_setting(config, "kata_timeout", Settings.request_timeout_s),
        block_ms=_setting(config, "kata_block_ms", Settings.block_ms),
    )
    app = config.getoption("kata_app")
    if app:
        session.app_override = Path(app).resolve()
        if not session.app_override.is_file():
            raise pytest.UsageError(f"--kata-app={app!r}: no such file")
    _parse_submission(config, session)
    _parse_kata_report(config, session)
    if course:
        _select_katas(config, session)
        _refuse_submission_tests(config, session)
    _parse_reveal(config, session)
    session.progress = load_progress(root)
    config.stash[SESSION_KEY] = session
    if course:
        config.pluginmanager.register(CourseReporter(session), "katas-course-reporter")


def _select_katas(config: pytest.Config, session: KataSession) -> None:
    """Expand `katas/01` into the kata's folder; `--solutions` alone also runs the self-tests."""
    args = config.args
    from_testpaths = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    no_paths_given = config.args_source != pytest.Config.ArgsSource.ARGS
    reveal = config.getoption("reveal")
    if reveal and ("/" in reveal or (session.root / reveal).exists()):
        # `pytest --reveal katas/01`: argparse took the path for the hint level.
        if no_paths_given:
            args.clear()
            from_testpaths = False
        args.append(reveal)
        config.option.reveal = hints.NEXT
    try:
        args[:] = [expand_argument(a, session.course, session.root) for a in args]
    except CourseError as exc:
        raise pytest.UsageError(str(exc)) from None
    if session.solutions and from_testpaths and (session.root / "tests").is_dir():
        args.append("tests")
    for arg in args:
        kata = kata_of_path(session.course, session.root, session.root / arg.split("::")[0])
        if kata is not None and kata not in session.named:
            session.named.append(kata)


def _parse_submission(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("submission")
    if value is None:
        return
    for other, given in (("--solutions", session.solutions), ("--kata-app", session.app_override is not None)):
        if given:
            raise pytest.UsageError(SUBMISSION_CONFLICT.format(other=other))
    folder = Path(value).expanduser().resolve()
    if not folder.is_dir():
        raise pytest.UsageError(SUBMISSION_NOT_A_FOLDER.format(value=value))
    session.submission = folder
    inifile = config.inipath or config.rootpath
    if folder == config.rootpath or folder in config.rootpath.parents or folder in inifile.parents:
        raise pytest.UsageError(SUBMISSION_TOOK_SETTINGS.format(value=value, inifile=inifile))
    if session.course and not any(session.app_path(k).is_file() for k in session.course):
        example = Path(value) / KATAS_DIR / session.course[0].folder / "app.py"
        raise pytest.UsageError(SUBMISSION_WITHOUT_KATAS.format(value=value, example=example))


def _refuse_submission_tests(config: pytest.Config, session: KataSession) -> None:
    """A submission's own test files are never collected: only the course's tests are trusted."""
    if session.submission is None:
        return
    base = config.rootpath if config.args_source == pytest.Config.ArgsSource.TESTPATHS else config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == session.submission or session.submission in path.parents:
            raise pytest.UsageError(SUBMISSION_OWN_TESTS.format(arg=arg, value=config.getoption("submission")))


def _parse_kata_report(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("kata_report")
    if value is None:
        return
    path = Path(value).expanduser().resolve()
    if path.is_dir():
        raise pytest.UsageError(KATA_REPORT_IS_FOLDER.format(value=value))
    session.report_path = path


def _parse_reveal(config: pytest.Config, session: KataSession) -> None:
    value = config.getoption("reveal")
    if value is None:
        return
    katas = session.named or session.course
    max_level = max((len(hints.read_hints(k.kata_dir(session.root))) for k in katas), default=0) or 1
    try:
        session.reveal = hints.parse_reveal(str(value), max_level)
    except hints.RevealError as exc:
        raise pytest.UsageError(str(exc)) from None


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


# -- fixtures ----------------------------------------------------------------------------


@dataclass
class KataUnderTest:
    """The kata a test belongs to, and the app file it is tested against."""

    kata: Kata
    app_path: Path
    settings: Settings
    runs: list[Run] = field(default_factory=list)

    @property
    def user_files(self) -> UserFiles:
        return UserFiles.under([self.app_path.parent])

    def load(self) -> Any:
        return load_app(self.app_path, f"kata_app_{self.kata.folder}")

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[Harness]:
        """Import the app afresh, start it (lifespan included) and yield a harness to fire at."""
        app = self.load()
        async with serve(app, user_files=self.user_files, settings=self.settings) as harness:
            try:
                yield harness
            finally:
                # Every burst measured, kept so the report can show what each test measured.
                self.runs.extend(harness.runs)


def _session(request: pytest.FixtureRequest) -> KataSession:
    return request.config.stash[SESSION_KEY]


@pytest.fixture
def kata(request: pytest.FixtureRequest) -> KataUnderTest:
    """The kata this test file belongs to, loaded from the app file under test."""
    session = _session(request)
    entry = session.kata_for(request.path)
    if entry is None:
        pytest.fail(f"the `kata` fixture only works in tests under katas/NN_slug/, not in {request.path}")
    under_test = KataUnderTest(entry, session.app_path(entry), session.settings)
    request.node.stash[RUNS_KEY] = under_test.runs
    return under_test


@pytest.fixture
def kata_settings(request: pytest.FixtureRequest) -> Settings:
    """The measuring settings in effect (request timeout, blocking threshold)."""
    return _session(request).settings


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A seeded SQLite database where every query pays a network-like round trip.

    Its path is in the SHOP_DATABASE environment variable, where the app finds it.
    """
    session = _session(request)
    entry = session.kata_for(request.path)
    user_files = UserFiles.under([session.app_path(entry).parent]) if entry else UserFiles()
    database = Database(tmp_path / "shop.db", user_files=user_files)
    monkeypatch.setenv(DATABASE_ENV_VAR, str(database.path))
    request.node.stash[DATABASE_KEY] = database
    with database.installed():
        yield database


# -- reporting ---------------------------------------------------------------------------


@dataclass
class ExplainedFailure:
    """A failure shown as the plugin's explanation instead of a traceback."""

    text: str
    reprcrash: ReprFileLocation

    def toterminal(self, tw: Any) -> None:
        for line in self.text.splitlines():
            tw.line(line)

    def __str__(self) -> str:
        return self.text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    excinfo = call.excinfo
    session = item.config.stash.get(SESSION_KEY, None)
    if excinfo is not None and report.failed and isinstance(excinfo.value, EXPLAINED):
        text = str(excinfo.value)
        headline = text.splitlines()[0] if text else type(excinfo.value).__name__
        kata = session.kata_for(item.path) if session else None
        if kata is not None:
            text += "\n\n" + POINTER.format(number=kata.number)
        report.longrepr = ExplainedFailure(text, ReprFileLocation(str(item.path), item.location[1] or 0, headline))
    if session is not None and session.report_path is not None:
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
