"""`katas watch`: run the first unsolved kata, run it again on every save, move on when it passes.

A kata counts as solved when its tests pass in this session, or when the state file says its last
run passed and none of its files changed since (see `fastapi_async_katas.commands.watching.choosing`).
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from fastapi_async_katas.commands.watching import screen
from fastapi_async_katas.commands.watching.changes import Changed, Debounce, FileWatch, WatchNotice, is_relevant, polling_reason
from fastapi_async_katas.commands.watching.choosing import choose_next, known_results
from fastapi_async_katas.commands.watching.keys import HINT, NEXT, QUIT, RERUN, Key, KeysClosed, cbreak, start_reading
from fastapi_async_katas.commands.watching.runs import Run, Runner
from fastapi_async_katas.course import progress
from fastapi_async_katas.course.listing import KATAS_DIR, CourseError, Kata, course_listing, find_kata, load_course

DESCRIPTION = "Run the first kata you have not solved, run it again each time you save a file in it, and move on when it passes."
KATA_HELP = "start at this kata (01, 1 or 01_blocking_db) instead of the first one not solved"
POLL_HELP = "poll for saves instead of using file events (also: set KATAS_WATCH_POLL=1)"
NO_CLEAR_HELP = "do not clear the screen before each run"
EPILOG = "keys: h shows the next hint, n moves to the next kata, r runs the tests again, q quits."
TICK_S = 0.05


def main(argv: list[str], prog: str = "katas watch") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("kata", nargs="?", help=KATA_HELP)
    parser.add_argument("--poll", action="store_true", help=POLL_HELP)
    parser.add_argument("--no-clear", action="store_true", help=NO_CLEAR_HELP)
    args = parser.parse_args(argv)
    try:
        root = find_root(Path.cwd())
        course = load_course(root)
    except CourseError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    if not course:
        print(f"{prog}: {root / 'pyproject.toml'} lists no katas under [[tool.katas.course]]", file=sys.stderr)
        return 2
    start = None
    if args.kata is not None:
        start = find_kata(course, args.kata)
        if start is None:
            print(f"{prog}: there is no kata {args.kata!r}. The katas are:\n{course_listing(course)}", file=sys.stderr)
            return 2
    tty = _isatty(sys.stdout)
    watch = Watch(
        root.resolve(),
        course,
        polling_because=polling_reason(args.poll, os.environ),
        clear=tty and not args.no_clear,
        color=tty and "NO_COLOR" not in os.environ,
    )
    return watch.run(start)


def find_root(start: Path) -> Path:
    """The course repository that holds `start`: the nearest folder with pyproject.toml and katas/."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / KATAS_DIR).is_dir():
            return folder
    raise CourseError(f"no course found in {start} or above it: run `katas watch` inside the course repository")


class Watch:
    """The watch loop: one kata at a time, one pytest run at a time, driven by saves and keys."""

    def __init__(self, root: Path, course: list[Kata], *, polling_because: str | None, clear: bool, color: bool, stdin: TextIO | None = None) -> None:
        self.root = root
        self.course = course
        self.clear = clear
        self.color = color
        self.stdin = sys.stdin if stdin is None else stdin
        self.events: queue.Queue[Any] = queue.Queue()
        self.files = FileWatch(root / KATAS_DIR, self.events.put, polling_because=polling_because)
        self.mode = self.files.mode
        self.runner = Runner(root)
        self.debounce = Debounce()
        self.session: dict[str, bool] = {}
        self.kata: Kata = course[0]
        self.current: Run | None = None
        self.keys: str | None = None
        self.news: list[str] = []
        self.just_solved: list[str] = []
        self.saved: set[str] = set()

    def run(self, start: Kata | None = None) -> int:
        state = progress.load(self.root)
        if state.rebuilt_because:
            self.news.append(state.rebuilt_because)
        if self.files.polling_because:
            self.news.append(self.mode)
        kata = start or choose_next(self.course, self._known())
        if kata is None:
            self._print(screen.ALL_SOLVED_TEXT)
            return 0
        _exit_on_signals()
        try:
            with cbreak(self.stdin) as single:
                if self.stdin is not None and not self.stdin.closed:
                    self.keys = screen.KEYS_SINGLE if single else screen.KEYS_LINES
                    start_reading(self.stdin, self.events.put, single=single)
                self.files.start()
                try:
                    self._switch_to(kata)
                    return self._loop()
                finally:
                    self._stop_run()
                    self.runner.close()
                    self.files.close()
        except KeyboardInterrupt:
            self._print("", screen.STOPPED_TEXT)
            return 130

    def _loop(self) -> int:
        while True:
            try:
                event = self.events.get(timeout=TICK_S)
            except queue.Empty:
                event = None
            if event is not None and (code := self._handle(event)) is not None:
                return code
            if self.debounce.due(time.monotonic()):
                self._start()
            if self.current is not None and (code := self.current.poll()) is not None:
                if (done := self._finished(code)) is not None:
                    return done

    def _handle(self, event: Any) -> int | None:
        if isinstance(event, Changed):
            folder = self.kata.kata_dir(self.root)
            saved = [p.relative_to(folder).as_posix() for p in event.paths if is_relevant(p, folder)]
            if saved:
                self.saved.update(saved)
                self.debounce.note(time.monotonic())
                self._stop_run()
        elif isinstance(event, Key):
            return self._on_key(event.action)
        elif isinstance(event, WatchNotice):
            self.mode = event.mode
            self._print(event.text)
        elif isinstance(event, KeysClosed):
            self.keys = None
        return None

    def _on_key(self, action: str) -> int | None:
        if action == QUIT:
            self._stop_run()
            self._print("", screen.STOPPED_TEXT)
            return 0
        if action == RERUN:
            self._start()
        elif action == HINT:
            self._start(("--reveal",))
        elif action == NEXT:
            following = choose_next(self.course, self._known(), after=self.kata)
            if following is None:
                self._print(screen.NO_OTHER_TEXT.format(number=self.kata.number))
            else:
                self._switch_to(following)
        return None

    def _finished(self, code: int) -> int | None:
        kata, self.current = self.kata, None
        self.session[kata.folder] = code == 0
        if code == 0:
            following = choose_next(self.course, self._known(), after=kata)
            self.news = screen.moving_on_lines(kata, following)
            if following is None:
                self._print(screen.RULE, *self.news)
                return 0
            # The news at the top may scroll away under a long failure, so the footer repeats it once.
            self.just_solved = screen.verdict_lines(kata, 0)
            self._switch_to(following)
            return None
        missing = not kata.kata_dir(self.root).is_dir()
        verdict = screen.verdict_lines(kata, code, missing=missing)
        self._print(screen.RULE, *self.just_solved, *verdict, *screen.status_lines(self.mode, self.keys))
        self.just_solved = []
        self.runner.warm()
        return None

    def _switch_to(self, kata: Kata) -> None:
        self.kata = kata
        self.saved.clear()
        self._start()

    def _start(self, extra: tuple[str, ...] = ()) -> None:
        self._stop_run()
        self.debounce.cancel()
        news = [*self.news, *screen.saved_lines(self.saved)]
        self.news, self.saved = [], set()
        args = screen.command(self.kata, extra)
        if self.clear:
            sys.stdout.write(screen.CLEAR)
        else:
            self._print("")
        self._print(*screen.header_lines(self.kata, self.course, self._known(), args, news))
        self.current = self.runner.start(args)

    def _stop_run(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def _known(self) -> dict[str, bool]:
        return known_results(self.course, self.root, progress.load(self.root), self.session)

    def _print(self, *lines: str) -> None:
        for line in lines:
            print(screen.paint(line, self.color), flush=True)


def _exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into a normal exit, so the terminal is restored and runs are stopped."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            try:
                signal.signal(getattr(signal, name), leave)
            except ValueError:  # not the main thread
                pass


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
