"""The pytest plugin: options, kata selection, fixtures, explained failures, hints and summary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation

from plugin import hints
from plugin.course import Kata, CourseError, course_listing, expand_argument, find_kata, kata_of_path, load_course
from plugin.firing import Harness, Settings, StartupError, serve
from plugin.judging import KataFailure
from plugin.loading import KataLoadError, load_app
from plugin.measuring.userfiles import UserFiles
from plugin.summary import KataResult, course_lines
from plugin.world.database import ENV_VAR as DATABASE_ENV_VAR
from plugin.world.database import Database

# The kata world's other parts, each a small pytest plugin with its own fixtures.
pytest_plugins = ["plugin.world.upstream", "plugin.world.storage", "plugin.measuring.threadpool"]

REVEAL_HELP = "show a hint for the kata: the next one, a level (--reveal=2), every hint (--reveal=all)"
SOLUTIONS_HELP = "run the katas against their reference solutions in solutions/, plus the plugin's self-tests"
KATA_APP_HELP = "run the selected kata's tests against this app file instead (the contract check uses it)"
TIMEOUT_HELP = "seconds a request may take before it counts as hung (default: 5)"
BLOCK_MS_HELP = "a loop step at least this long, in ms, counts as blocking (default: 50)"
POINTER = "Stuck? Run `pytest katas/{number} --reveal` for a hint."

EXPLAINED = (KataFailure, KataLoadError, StartupError)


@dataclass
class KataSession:
    """Per-session state of the plugin, kept in `config.stash`."""

    root: Path
    course: list[Kata]
    solutions: bool = False
    app_override: Path | None = None
    reveal: hints.Reveal | None = None
    named: list[Kata] = field(default_factory=list)
    results: dict[str, KataResult] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)

    def app_path(self, kata: Kata) -> Path:
        if self.app_override is not None:
            return self.app_override
        base = kata.solution_dir(self.root) if self.solutions else kata.kata_dir(self.root)
        return base / "app.py"

    def kata_for(self, path: Path) -> Kata | None:
        return kata_of_path(self.course, self.root, path)


SESSION_KEY = pytest.StashKey[KataSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas", "FastAPI async katas")
    group.addoption("--reveal", nargs="?", const=hints.NEXT, default=None, metavar="LEVEL", help=REVEAL_HELP)
    group.addoption("--solutions", action="store_true", default=False, help=SOLUTIONS_HELP)
    group.addoption("--kata-app", default=None, metavar="FILE", help=KATA_APP_HELP)
    group.addoption("--kata-timeout", type=float, default=None, metavar="SECONDS", help=TIMEOUT_HELP)
    group.addoption("--kata-block-ms", type=float, default=None, metavar="MS", help=BLOCK_MS_HELP)
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
    if course:
        _select_katas(config, session)
    _parse_reveal(config, session)
    config.stash[SESSION_KEY] = session
    if course:
        config.pluginmanager.register(CourseReporter(session), "katas-course-reporter")


def _select_katas(config: pytest.Config, session: KataSession) -> None:
    """Expand `katas/01` into the kata's folder; `--solutions` alone also runs the self-tests."""
    args = config.args
    from_testpaths = config.args_source == pytest.Config.ArgsSource.TESTPATHS
    reveal = config.getoption("reveal")
    if reveal and ("/" in reveal or (session.root / reveal).exists()):
        # `pytest --reveal katas/01`: argparse took the path for the hint level.
        if from_testpaths:
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


def pytest_report_header(config: pytest.Config) -> list[str]:
    session = config.stash.get(SESSION_KEY, None)
    if session is None or not session.course:
        return []
    against = "the reference solutions" if session.solutions else "your app.py files"
    if session.app_override:
        against = str(session.app_override)
    s = session.settings
    return [f"katas: testing {against}; request timeout {s.request_timeout_s:g} s; blocking at {s.block_ms:g} ms"]


# -- fixtures ----------------------------------------------------------------------------


@dataclass
class KataUnderTest:
    """The kata a test belongs to, and the app file it is tested against."""

    kata: Kata
    app_path: Path
    settings: Settings

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
            yield harness


def _session(request: pytest.FixtureRequest) -> KataSession:
    return request.config.stash[SESSION_KEY]


@pytest.fixture
def kata(request: pytest.FixtureRequest) -> KataUnderTest:
    """The kata this test file belongs to, loaded from the app file under test."""
    session = _session(request)
    entry = session.kata_for(request.path)
    if entry is None:
        pytest.fail(f"the `kata` fixture only works in tests under katas/NN_slug/, not in {request.path}")
    return KataUnderTest(entry, session.app_path(entry), session.settings)


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
    return report


class CourseReporter:
    """Collects each kata's results during the run and prints hints and the course summary."""

    def __init__(self, session: KataSession) -> None:
        self.session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not report.failed:
            return
        kata = self.session.kata_for(self.session.root / report.fspath)
        if kata is None:
            return
        result = self.session.results.setdefault(kata.folder, KataResult())
        if report.failed:
            result.failed += 1
            crash = getattr(report.longrepr, "reprcrash", None)
            result.headlines.append(getattr(crash, "message", "") or report.nodeid)
        elif report.passed:
            result.passed += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        session = self.session
        if session.reveal is not None:
            _write_section(terminalreporter, "hints", _hint_section(session))
        against = "the reference solutions" if session.solutions else ""
        if session.app_override is not None:
            against = str(session.app_override)
        _write_section(terminalreporter, "course", course_lines(session.course, session.results, against=against))


def _write_section(terminalreporter: Any, title: str, lines: list[str]) -> None:
    if not lines:
        return
    terminalreporter.write_sep("=", title)
    for line in lines:
        terminalreporter.write_line(line)


def _hint_section(session: KataSession) -> list[str]:
    """Hints for the katas named on the command line, or else for the first unsolved kata."""
    assert session.reveal is not None
    if session.named:
        katas = session.named
    else:
        ran = [k for k in session.course if k.folder in session.results]
        first = next((k for k in ran if not session.results[k.folder].solved), None)
        katas = [first] if first else []
        if not katas:
            return ["Every kata in this run is solved: no hints needed."]
    lines: list[str] = []
    for kata in katas:
        available = hints.read_hints(kata.kata_dir(session.root))
        levels = session.reveal.levels(len(available))
        lines += hints.hint_lines(f"Kata {kata.number} ({kata.slug})", available, levels)
    return lines
