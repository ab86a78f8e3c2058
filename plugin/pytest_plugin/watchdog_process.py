"""The watchdog process: it stops a pytest process whose test makes no progress past its limit.

    python -I -S watchdog_process.py PID [NOTE_FILE]

It reads lines from its stdin, which the watched process holds open:

    start LIMIT_S NODEID    a test began; it must end within LIMIT_S seconds
    end                     the test ended
    pause / resume          a debugger is open: no limit meanwhile
    quit                    the run is over

Past a test's limit it says so on stderr, writes the test's id and limit to NOTE_FILE, and
kills PID: a deadlock inside the interpreter (two threads each waiting for a lock the other
holds) lets no signal handler, timeout or thread of that process run, so the end must come from
outside. It exits at `quit`, at the end of its input, or once PID is gone (a forked child of the
process may keep its input open longer).

Standard library only, and started with -I -S: it costs a few milliseconds.
"""

import os
import queue
import signal
import sys
import threading
import time

POLL_S = 1.0
HUNG = "\nkatas: {nodeid} made no progress for {limit:g} s, so this run was stopped (a hang that nothing inside the process could end).\n"


def _read(lines: "queue.Queue[str | None]") -> None:
    for line in sys.stdin:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def main(pid: int, note_file: str | None) -> None:
    lines: "queue.Queue[str | None]" = queue.Queue()
    threading.Thread(target=_read, args=(lines,), daemon=True).start()
    nodeid, limit, deadline, paused = "", 0.0, None, False
    while True:
        wait = POLL_S if deadline is None or paused else min(max(deadline - time.monotonic(), 0.0), POLL_S)
        try:
            line = lines.get(timeout=wait)
        except queue.Empty:
            if not _alive(pid):
                return
            if deadline is not None and not paused and time.monotonic() >= deadline:
                _stop(pid, nodeid, limit, note_file)
                return
            continue
        if line is None or line == "quit":
            return
        word, _, rest = line.partition(" ")
        if word == "start":
            limit_text, _, nodeid = rest.partition(" ")
            limit = float(limit_text)
            deadline = time.monotonic() + limit
        elif word == "end":
            deadline = None
        elif word == "pause":
            paused = True
        elif word == "resume" and paused:
            paused = False
            if deadline is not None:
                deadline = time.monotonic() + limit


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _stop(pid: int, nodeid: str, limit: float, note_file: str | None) -> None:
    sys.stderr.write(HUNG.format(nodeid=nodeid, limit=limit))
    sys.stderr.flush()
    if note_file:
        try:
            with open(note_file, "w", encoding="utf-8") as note:
                note.write(f"{limit:g} {nodeid}\n")
        except OSError:
            pass
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    except OSError:
        pass


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
