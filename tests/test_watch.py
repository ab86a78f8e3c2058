"""Self-tests of `katas watch`: its decisions as plain functions, then the real loop in a subprocess.

The end-to-end tests run the watcher against a tiny course in a temporary folder: two katas whose
tests check one constant in app.py. They need no terminal multiplexer; one of them uses a pty.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fastapi_async_katas.commands.watch import find_root, main
from fastapi_async_katas.commands.watching import screen
from fastapi_async_katas.commands.watching.changes import Changed, Debounce, FileWatch, WatchNotice, is_relevant, polling_reason
from fastapi_async_katas.commands.watching.choosing import choose_next, known_results, newest_change, solved_on_record
from fastapi_async_katas.commands.watching.keys import HINT, NEXT, QUIT, RERUN, action_of, cbreak
from fastapi_async_katas.commands.watching.spare import WARM_MODULES, warm_modules
from fastapi_async_katas.course.listing import Kata
from fastapi_async_katas.course.progress import FAILING, SOLVED, KataProgress, ProgressFile

REPO = Path(__file__).resolve().parents[1]
COURSE = [Kata("01_first", "The first one"), Kata("02_second", "The second one"), Kata("03_third", "The third one")]
FIRST, SECOND, THIRD = COURSE


# -- which kata ----------------------------------------------------------------------------


def test_the_first_kata_not_solved_comes_first():
    assert choose_next(COURSE, {"01_first": True}) == SECOND


def test_katas_with_no_result_yet_count_as_not_solved():
    assert choose_next(COURSE, {}) == FIRST


def test_moving_on_skips_solved_katas_and_wraps_around_to_earlier_ones():
    assert choose_next(COURSE, {"01_first": False, "02_second": True, "03_third": True}, after=SECOND) == FIRST


def test_moving_on_never_returns_the_kata_it_moves_on_from():
    assert choose_next(COURSE, {"01_first": True, "03_third": True}, after=SECOND) is None


def test_nothing_is_next_when_every_kata_is_solved():
    assert choose_next(COURSE, dict.fromkeys(["01_first", "02_second", "03_third"], True)) is None


def _stamp(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, timezone.utc).isoformat(timespec="seconds")


def test_a_solved_record_holds_when_no_file_changed_since_that_run():
    assert solved_on_record(KataProgress(status=SOLVED, last_run=_stamp(10)), newest_change=time.time() - 60)


def test_a_solved_record_is_not_trusted_once_a_file_changed_after_that_run():
    assert not solved_on_record(KataProgress(status=SOLVED, last_run=_stamp(60)), newest_change=time.time() - 10)


@pytest.mark.parametrize(
    "entry",
    [None, KataProgress(status=FAILING, last_run=_stamp(10)), KataProgress(status=SOLVED, last_run=None), KataProgress(status=SOLVED, last_run="yesterday")],
)
def test_a_kata_without_a_trustworthy_solved_record_counts_as_not_solved(entry):
    assert not solved_on_record(entry, newest_change=time.time() - 60)


def test_this_sessions_own_results_override_the_state_file(tmp_path: Path):
    for kata in COURSE:
        (tmp_path / "katas" / kata.folder).mkdir(parents=True)
        (tmp_path / "katas" / kata.folder / "app.py").write_text("x = 1\n")
        os.utime(tmp_path / "katas" / kata.folder / "app.py", (time.time() - 60, time.time() - 60))
    state = ProgressFile(tmp_path / ".katas-state.json")
    state.katas = {k.folder: KataProgress(status=SOLVED, last_run=_stamp(5)) for k in COURSE}
    assert known_results(COURSE, tmp_path, state, {"02_second": False}) == {"01_first": True, "02_second": False, "03_third": True}


def test_the_newest_change_ignores_bytecode_and_editor_litter(tmp_path: Path):
    (tmp_path / "app.py").write_text("x = 1\n")
    os.utime(tmp_path / "app.py", (1_000_000, 1_000_000))
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"")
    (tmp_path / ".app.py.swp").write_bytes(b"")
    assert newest_change(tmp_path) == 1_000_000
    assert newest_change(tmp_path / "missing") is None


# -- which saves count ---------------------------------------------------------------------


KATA_DIR = Path("/course/katas/01_first")


@pytest.mark.parametrize("name", ["app.py", "README.md", "helpers/db.py"])
def test_a_save_of_a_file_in_the_kata_counts(name):
    assert is_relevant(KATA_DIR / name, KATA_DIR)


@pytest.mark.parametrize(
    "name",
    ["__pycache__", "__pycache__/app.cpython-311.pyc", ".pytest_cache", ".app.py.swp", ".app.py.swx", "4913", "app.py~", "#app.py#", ".#app.py", "app.py___jb_tmp___", "app.py.tmp", ".pytest_cache/v/x"],
)
def test_bytecode_and_editor_temp_files_do_not_count(name):
    assert not is_relevant(KATA_DIR / name, KATA_DIR)


def test_a_save_in_another_kata_does_not_count():
    assert not is_relevant(Path("/course/katas/02_second/app.py"), KATA_DIR)
    assert not is_relevant(KATA_DIR, KATA_DIR)


def test_a_burst_of_events_from_one_save_gives_one_run():
    debounce = Debounce(quiet=0.1)
    for t in (10.00, 10.01, 10.05):
        debounce.note(t)
        assert not debounce.due(t)
    assert not debounce.due(10.14)
    assert debounce.due(10.16)
    assert not debounce.due(10.5)


def test_a_cancelled_debounce_does_not_start_a_run():
    debounce = Debounce(quiet=0.1)
    debounce.note(1.0)
    debounce.cancel()
    assert not debounce.pending and not debounce.due(2.0)


@pytest.mark.parametrize(
    ("flag", "environ", "reason"),
    [
        (True, {}, "--poll was given"),
        (False, {"KATAS_WATCH_POLL": "1"}, "KATAS_WATCH_POLL is set"),
        (False, {"KATAS_WATCH_POLL": "0"}, None),
        (False, {"WATCHFILES_FORCE_POLLING": "true"}, "WATCHFILES_FORCE_POLLING is set"),
        (False, {"WATCHFILES_FORCE_POLLING": "disabled"}, None),
        (False, {}, None),
    ],
)
def test_polling_is_used_when_asked_for(flag, environ, reason):
    assert polling_reason(flag, environ, uname_release="6.1.0-generic") == reason


def test_polling_is_used_on_wsl():
    assert "WSL" in polling_reason(False, {}, uname_release="5.15.90.1-microsoft-standard-WSL2")


class _Watches:
    """A stand-in for watchfiles.watch: file events fail to start, polling reports one change."""

    def __init__(self, polling_works: bool) -> None:
        self.polling_works = polling_works

    def __call__(self, folder, *, force_polling, **_):
        if not force_polling or not self.polling_works:
            raise OSError("OS file watch limit reached")
        yield {(2, str(folder / "app.py"))}


def _collect(watch: FileWatch, events: list) -> list:
    watch.start()
    watch._thread.join(timeout=5)
    return events


def test_when_file_events_fail_to_start_the_watcher_polls_and_says_so(tmp_path: Path):
    events: list = []
    watch = FileWatch(tmp_path, events.append, polling_because=None, watch=_Watches(polling_works=True))
    notice, change = _collect(watch, events)
    assert isinstance(notice, WatchNotice) and "File events are not available" in notice.text
    assert notice.mode.startswith("Polling for saves every 0.3 s: file events are not available: OSError")
    assert change == Changed(frozenset({tmp_path / "app.py"}))


def test_when_polling_fails_too_the_watcher_says_so_and_keys_still_work(tmp_path: Path):
    events: list = []
    watch = FileWatch(tmp_path, events.append, polling_because=None, watch=_Watches(polling_works=False))
    assert [type(e) for e in _collect(watch, events)] == [WatchNotice, WatchNotice]
    assert events[-1].mode == "Not watching files: press r to run the tests again."


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "action"), [("h", HINT), ("n", NEXT), ("r", RERUN), ("q", QUIT), ("Q\n", QUIT), ("  n \n", NEXT), ("\x04", QUIT), ("x", None), ("\n", None), ("", None)])
def test_a_key_or_a_typed_line_asks_for_an_action(text, action):
    assert action_of(text) == action


@pytest.mark.skipif(sys.platform == "win32", reason="termios is POSIX only")
def test_the_terminal_is_restored_even_when_watch_mode_fails():
    import pty
    import termios

    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        with open(slave, closefd=False) as stream, pytest.raises(RuntimeError), cbreak(stream) as single:
            assert single
            assert not termios.tcgetattr(slave)[3] & termios.ICANON
            raise RuntimeError("boom")
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_cbreak_leaves_a_stream_that_is_not_a_terminal_alone(tmp_path: Path):
    with open(tmp_path / "keys.txt", "w+") as stream, cbreak(stream) as single:
        assert not single


# -- what is printed -------------------------------------------------------------------------


def test_a_failing_run_says_the_kata_is_not_solved_and_what_to_edit():
    assert screen.verdict_lines(FIRST, 1) == [
        "✘ Kata 01 (first) is not solved yet.",
        "Edit katas/01_first/app.py and save it: the tests run again by themselves.",
    ]


def test_a_run_that_could_not_test_the_kata_says_so_with_the_exit_code():
    assert screen.verdict_lines(FIRST, 4)[0] == "✘ The tests of kata 01 (first) could not run (pytest exit code 4): see the output above."


def test_a_kata_whose_folder_is_missing_says_so_instead_of_asking_for_an_edit():
    assert screen.verdict_lines(FIRST, 4, missing=True) == ["✘ Kata 01 (first) has no folder katas/01_first/ yet. Press n for the next kata."]


def test_a_passing_run_announces_the_next_kata():
    assert screen.moving_on_lines(FIRST, SECOND) == ["✔ Kata 01 (first) is solved!", "On to kata 02: The second one.", ""]


def test_the_last_passing_run_announces_the_end_of_the_course():
    assert screen.moving_on_lines(THIRD, None) == ["✔ Kata 03 (third) is solved!", screen.ALL_SOLVED_TEXT]


def test_the_header_shows_news_position_progress_and_command():
    args = screen.command(SECOND, ("--reveal",))
    assert args == ["katas/02_second", "--reveal"]
    assert screen.header_lines(SECOND, COURSE, {"01_first": True}, args, ["app.py saved: running the tests again."]) == [
        "app.py saved: running the tests again.",
        "katas watch · kata 02 (2 of 3, 1 solved): The second one",
        "$ pytest katas/02_second --reveal",
        "",
    ]


def test_saved_files_are_named_in_the_news():
    assert screen.saved_lines({"app.py", "helpers/db.py"}) == ["app.py, helpers/db.py saved: running the tests again."]
    assert screen.saved_lines(set()) == []


def test_colour_is_only_added_when_asked_for():
    assert screen.paint("✔ Kata 01 (first) is solved!", color=False) == "✔ Kata 01 (first) is solved!"
    assert screen.paint("✔ Kata 01 (first) is solved!", color=True).startswith("\033[32m")


# -- the command, in process -----------------------------------------------------------------


def _fake_course(root: Path, answers: dict[str, int]) -> Path:
    """A course whose katas pass when app.py says ANSWER = 42; `--reveal` prints a hint."""
    entries = "".join(f'[[tool.katas.course]]\nfolder = "{folder}"\ntitle = "Kata {folder}"\n\n' for folder in answers)
    (root / "pyproject.toml").write_text(f'[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n\n{entries}')
    (root / "conftest.py").write_text(
        "def pytest_addoption(parser):\n"
        "    parser.addoption('--reveal', nargs='?', const='next', default=None)\n\n"
        "def pytest_terminal_summary(terminalreporter, config):\n"
        "    if config.getoption('reveal'):\n"
        "        terminalreporter.write_line('HINT: what is six times seven?')\n"
    )
    for folder, answer in answers.items():
        kata = root / "katas" / folder
        kata.mkdir(parents=True)
        (kata / "app.py").write_text(f"ANSWER = {answer}\n")
        (kata / "test_kata.py").write_text(
            "import pathlib, runpy\n\n"
            "def test_the_answer():\n"
            "    assert runpy.run_path(str(pathlib.Path(__file__).with_name('app.py')))['ANSWER'] == 42\n"
        )
    return root


def test_an_unknown_kata_is_a_usage_error_that_lists_the_katas(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(_fake_course(tmp_path, {"01_first": 41}))
    assert main(["07"]) == 2
    assert "there is no kata '07'. The katas are:\n  01  01_first" in capsys.readouterr().err


def test_watch_mode_outside_a_course_says_where_to_run_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    assert "run `katas watch` inside the course repository" in capsys.readouterr().err


def test_the_course_root_is_found_from_a_kata_folder(tmp_path):
    root = _fake_course(tmp_path, {"01_first": 41})
    assert find_root(root / "katas" / "01_first") == root


def test_a_spare_imports_fastapi_and_pytest_ahead_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("KATAS_SPARE_IMPORTS", raising=False)
    assert warm_modules() == list(WARM_MODULES)
    assert {"pytest", "fastapi"} <= set(WARM_MODULES)
    monkeypatch.setenv("KATAS_SPARE_IMPORTS", " pytest, json ,,")
    assert warm_modules() == ["pytest", "json"]
    monkeypatch.setenv("KATAS_SPARE_IMPORTS", "")
    assert warm_modules() == []


# -- the real loop, in a subprocess ----------------------------------------------------------


class Watcher:
    """`katas watch` in a subprocess, with its output read line by line as it comes."""

    def __init__(self, root: Path, *args: str, terminal: int | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATAS_", "WATCHFILES_"))}
        env["PYTHONPATH"] = str(REPO)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the fake course needs no plugins: faster runs
        env["KATAS_SPARE_IMPORTS"] = "pytest"  # nor FastAPI, which each spare process would import ahead
        command = [sys.executable, "-m", "fastapi_async_katas.commands.cli", "watch", *args]
        if terminal is None:
            self.proc = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            stream = self.proc.stdout
        else:
            # A test run started in the background inherits SIGINT ignored; a person at a terminal does not.
            self.proc = subprocess.Popen(
                command, cwd=root, env=env, stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True,
                preexec_fn=_sigint_as_at_a_terminal,
            )
            stream = None
        self.output = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def attach(self, master: int) -> None:
        self._master = master

    def _read(self, stream) -> None:
        if stream is not None:
            for line in stream:
                self._chunks.put(line)

    def _take(self, timeout: float) -> None:
        if getattr(self, "_master", None) is not None:
            import select

            ready, _, _ = select.select([self._master], [], [], timeout)
            if ready:
                try:
                    self.output += os.read(self._master, 65536).decode(errors="replace")
                except OSError:
                    pass
            return
        try:
            self.output += self._chunks.get(timeout=timeout)
        except queue.Empty:
            pass

    def wait_for(self, text: str, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"watch mode did not print {text!r} ({count}x) within {timeout} s. Its output:\n{self.output}")
            self._take(0.1)

    def save_until_seen(self, path: Path, text: str, *, every: float = 3.0, tries: int = 10) -> None:
        """Save `text` to `path`, again if the watcher has not seen it yet.

        The watcher says it is watching before watchfiles has taken its first look at the
        folder, so a save in that instant can go unseen; a learner never saves that fast.
        """
        for _ in range(tries):
            path.write_text(text)
            deadline = time.monotonic() + every
            while time.monotonic() < deadline:
                if "app.py saved" in self.output:
                    return
                self._take(0.1)
        self.stop()
        pytest.fail(f"watch mode never noticed the save of {path}. Its output:\n{self.output}")

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def exit_code(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._take(0.1)
        if self.proc.poll() is None:
            self.stop()
            pytest.fail(f"watch mode did not end within {timeout} s. Its output:\n{self.output}")
        self._reader.join(timeout=5)
        while not self._chunks.empty():
            self._take(0)
        return self.proc.returncode

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _sigint_as_at_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


HEADER_01 = "katas watch · kata 01 (1 of 2"
NOT_SOLVED_01 = "✘ Kata 01 (first) is not solved yet."


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["file events", "polling"])
def test_a_saved_fix_is_run_again_and_the_course_moves_on_to_the_end(tmp_path: Path, how: str):
    root = _fake_course(tmp_path, {"01_first": 41, "02_second": 42})
    watcher = Watcher(root, *(["--poll"] if how == "polling" else []))
    watcher.wait_for(NOT_SOLVED_01)
    watcher.wait_for("Polling for saves every 0.3 s: --poll was given." if how == "polling" else "Watching for saves (file events).")
    watcher.save_until_seen(root / "katas" / "01_first" / "app.py", "ANSWER = 42\n")
    assert watcher.exit_code() == 0
    out = watcher.output
    assert out.count(HEADER_01) == 2, "one save gives exactly one run"
    for expected in ("app.py saved: running the tests again.", "✔ Kata 01 (first) is solved!", "On to kata 02: Kata 02_second.", "✔ Kata 02 (second) is solved!", screen.ALL_SOLVED_TEXT):
        assert expected in out
        out = out[out.index(expected) :]


@pytest.mark.timeout(120)
def test_keys_show_a_hint_move_to_the_next_kata_and_quit(tmp_path: Path):
    root = _fake_course(tmp_path, {"01_first": 41, "02_second": 42})
    watcher = Watcher(root)
    watcher.wait_for(NOT_SOLVED_01)
    watcher.type("h\n")
    watcher.wait_for("$ pytest katas/01_first --reveal")
    watcher.wait_for("HINT: what is six times seven?")
    watcher.wait_for(NOT_SOLVED_01, count=2)
    watcher.type("n\n")
    watcher.wait_for("✔ Kata 02 (second) is solved!")
    watcher.wait_for("On to kata 01: Kata 01_first.")
    watcher.wait_for(NOT_SOLVED_01, count=3)
    footer = watcher.output[watcher.output.rindex(screen.RULE) :]
    assert footer.startswith(f"{screen.RULE}\n✔ Kata 02 (second) is solved!\n{NOT_SOLVED_01}\n"), "the footer repeats the news once"
    watcher.type("q\n")
    assert watcher.exit_code() == 0
    assert watcher.output.rstrip().endswith(screen.STOPPED_TEXT)


@pytest.mark.timeout(120)
def test_watch_mode_starts_at_the_kata_asked_for_and_says_when_all_are_solved(tmp_path: Path):
    root = _fake_course(tmp_path, {"01_first": 42, "02_second": 42})
    watcher = Watcher(root, "2")
    assert watcher.exit_code() == 0
    assert watcher.output.index("kata 02 (2 of 2") < watcher.output.index("kata 01 (1 of 2")
    assert screen.ALL_SOLVED_TEXT in watcher.output


@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform == "win32", reason="ptys are POSIX only")
@pytest.mark.parametrize("leave", ["q", "ctrl-c"])
def test_on_a_terminal_one_keypress_works_and_the_terminal_is_restored(tmp_path: Path, leave: str):
    import pty
    import termios

    root = _fake_course(tmp_path, {"01_first": 41})
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    try:
        watcher = Watcher(root, "--no-clear", terminal=slave)
        watcher.attach(master)
        watcher.wait_for(screen.KEYS_SINGLE)
        assert not termios.tcgetattr(slave)[3] & termios.ICANON, "single keypresses, no Enter needed"
        if leave == "q":
            os.write(master, b"q")
            assert watcher.exit_code() == 0
        else:
            watcher.proc.send_signal(signal.SIGINT)
            assert watcher.exit_code() == 130
        assert screen.STOPPED_TEXT in watcher.output
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
