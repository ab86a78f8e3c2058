"""Whether a thread is waiting for the GIL at this moment, as seen from a thread that holds it.

A loop thread held up while other threads of the process run Python looks, from its stack and
its CPU clock, just like one waiting on I/O: its stack stays on a line and its CPU clock stands
still. Where it sleeps tells them apart. Linux shows a sleeping thread's system call in
`/proc/self/task/<id>/syscall`: a thread waiting for the GIL waits on a futex in the
interpreter's own GIL state, while one waiting on I/O, a sleep or a lock of the app's sleeps
elsewhere. Where the GIL's futexes are is found once per process (`gil_futexes`), by looking at
a thread known to be waiting for the GIL.
"""

from __future__ import annotations

import os
import threading
import time

from fastapi_async_katas.engine.clocks import gil_keeping_reader

# The GIL's state (its condition variables and mutexes) spans about 200 bytes: a futex this
# close to the one seen waited on is the GIL's.
_REACH = 256
# The interpreter's runtime state, where the GIL is, is about 170 KB (Python 3.11).
_RUNTIME_SIZE = 1 << 18
# Look for at most this long (a busy machine wakes the helper late).
_LOOK_S = 1.0
# A call a thread is still in this long after it was first seen in it is a wait of its own.
_MOMENT_US = 200
_UNKNOWN = object()
_found: object = _UNKNOWN
_finding = threading.Lock()


def gil_futexes() -> tuple[bytes, int, int] | None:
    """The system call a thread waiting for the GIL sleeps in, and the range of addresses it
    waits on; None where that cannot be seen. Found once per process, in a few milliseconds."""
    global _found
    with _finding:
        if _found is _UNKNOWN:
            _found = _find()
        return _found  # type: ignore[return-value]


def _find() -> tuple[bytes, int, int] | None:
    """Hold the GIL while a helper thread that sleeps in short naps wakes: it then waits for the
    GIL, and its system call shows where. The GIL is in the interpreter's runtime state, so a
    wait seen anywhere else (a nap not over yet, on a busy machine) is not it: look again."""
    try:
        import ctypes

        read = gil_keeping_reader(256)
        usleep = ctypes.PyDLL(None).usleep  # keeps the GIL while it sleeps
        runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    except (AttributeError, ImportError, OSError, TypeError, ValueError):
        return None  # no ctypes, no pread or usleep (not a POSIX system), or no runtime symbol
    napping = True

    def nap() -> None:
        while napping:
            time.sleep(0.0005)

    helper = threading.Thread(target=nap, name="katas-gil-finder", daemon=True)
    helper.start()
    try:
        fd = os.open(f"/proc/self/task/{helper.native_id}/syscall", os.O_RDONLY)
    except OSError:
        napping = False
        helper.join()
        return None
    try:
        deadline = time.monotonic() + _LOOK_S
        while time.monotonic() < deadline:
            # Less than the switch interval: a thread that waits for the GIL for 5 ms asks this
            # one to let go, and this one would, between two lines.
            usleep(2000)
            fields = read(fd).split()
            try:
                address = int(fields[1], 16) if len(fields) > 1 and fields[0] != b"running" else 0
            except ValueError:
                continue
            if runtime <= address < runtime + _RUNTIME_SIZE:
                return fields[0], address - _REACH, address + _REACH
        return None
    finally:
        napping = False
        os.close(fd)
        helper.join()


class GilWait:
    """For the thread that makes it: its CPU time, and whether it sleeps in a call of its own.

    Both are read from another thread that holds the GIL, so what is read is one moment, and the
    watched thread cannot be running Python then. It is either asleep in a system call (waiting
    for the GIL, or in one of its own: I/O, a sleep, a lock), or not asleep: woken and on its way
    to the GIL, waiting for a CPU, or computing in C that let go of the GIL. Only the time up to
    a sample that finds it asleep in a call of its own was spent waiting on its own account;
    otherwise the time it can answer for is the CPU time it used. Where none of this can be
    seen, every sample counts as a call of its own, and waits are not told apart.
    """

    def __init__(self) -> None:
        self._fd: int | None = None
        self._clock = 0
        self._futexes = gil_futexes()
        if self._futexes is None:
            return
        try:
            import ctypes

            self._clock = time.pthread_getcpuclockid(threading.get_ident())
            self._read = gil_keeping_reader(256)
            self._usleep = ctypes.PyDLL(None).usleep
            self._stat = os.open("/proc/thread-self/stat", os.O_RDONLY)
            try:
                self._fd = os.open("/proc/thread-self/syscall", os.O_RDONLY)
            except OSError:
                os.close(self._stat)
                raise
        except (AttributeError, ImportError, OSError):
            self._fd = None

    @property
    def measures(self) -> bool:
        """Whether `in_own_call` tells anything here."""
        return self._fd is not None

    def cpu(self) -> float:
        """The thread's CPU time in seconds, as `time.thread_time()` on it would read (0 where
        nothing is measured: then no sample asks for it)."""
        return time.clock_gettime(self._clock) if self._fd is not None else 0.0

    def in_own_call(self) -> bool:
        """Whether the thread sleeps, now, in a system call other than a wait for the GIL, and
        is still in it a moment later. A thread that lets go of the GIL for a call that returns
        at once (`time.sleep(0)`, a lock free to take) hands it to the very thread that looks:
        caught in that call, it is not waiting on its own account, and cannot have made another
        call meanwhile, since that would need the GIL back."""
        if self._fd is None or self._futexes is None:
            return True
        if not self._asleep_on_its_own(self._fd, self._futexes):
            return False
        self._usleep(_MOMENT_US)
        return self._asleep_on_its_own(self._fd, self._futexes) and not self._runnable()

    def _runnable(self) -> bool:
        """Whether the thread is not asleep but waiting for a CPU: on a busy machine a thread can
        lose its CPU inside a call that returns at once (`time.sleep(0)`), and stays in it a while."""
        fields = self._read(self._stat).rsplit(b")", 1)
        return len(fields) == 2 and fields[1].split()[:1] == [b"R"]

    def _asleep_on_its_own(self, fd: int, futexes: tuple[bytes, int, int]) -> bool:
        fields = self._read(fd).split()
        if not fields:
            return True  # not known: as where nothing is seen
        if fields[0] == b"running":
            return False
        call, low, high = futexes
        if fields[0] != call or len(fields) < 2:
            return True
        try:
            return not low <= int(fields[1], 16) < high
        except ValueError:
            return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            os.close(self._stat)
            self._fd = None
