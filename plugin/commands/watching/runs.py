"""Running a kata's tests: pytest in a subprocess, its output straight to the terminal.

Each run goes to a spare process started beforehand (see `fastapi_async_katas.commands.watching.spare`). A run gets
its own process group, so stopping it also stops anything the kata started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

SPARE = [sys.executable, "-m", "fastapi_async_katas.commands.watching.spare"]
_POSIX = os.name == "posix"


class Run:
    """One pytest run that is going on, or has ended."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        _stop(self.proc)


class Runner:
    """Starts pytest runs in the course root, keeping one spare process warm for the next run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._spare: subprocess.Popen[str] | None = None

    def start(self, args: list[str]) -> Run:
        sys.stdout.flush()
        proc = self._spare if self._spare is not None and self._spare.poll() is None else self._spawn()
        self._spare = None
        try:
            self._send(proc, args)
        except OSError:  # the spare died while it waited: use a fresh one
            proc = self._spawn()
            self._send(proc, args)
        return Run(proc)

    def warm(self) -> None:
        """Start a spare now, while nothing is being measured, if there is none."""
        if self._spare is None or self._spare.poll() is not None:
            self._spare = self._spawn()

    def close(self) -> None:
        if self._spare is not None:
            _stop(self._spare)
            self._spare = None

    def _spawn(self) -> subprocess.Popen[str]:
        return subprocess.Popen(SPARE, cwd=self.root, stdin=subprocess.PIPE, text=True, start_new_session=_POSIX)

    @staticmethod
    def _send(proc: subprocess.Popen[str], args: list[str]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(args) + "\n")
        proc.stdin.close()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 2.0), (getattr(signal, "SIGKILL", signal.SIGTERM), 5.0)):
        try:
            if _POSIX:
                os.killpg(proc.pid, sig)
            else:
                proc.terminate()
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
