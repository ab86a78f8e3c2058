"""What usually helps, by the call a block was blamed on and its kind: a table, not prose in the code.

Each row matches the blamed source line (a regular expression) and a kind; the first row that
matches gives the remedy. The probe cites it under each block; a kata does not, since finding the
remedy is the learner's part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Remedy:
    call: str
    pattern: str
    kinds: tuple[str, ...]
    text: str

    def matches(self, code: str, kind: str) -> bool:
        return kind in self.kinds and re.search(self.pattern, code) is not None


REMEDIES: tuple[Remedy, ...] = (
    Remedy("waiting on a thread", r"\.(result|join)\(\s*\)", ("io",),
           "await the work instead of waiting for it: `await asyncio.wrap_future(future)`, `await loop.run_in_executor(...)`"),
    Remedy("time.sleep", r"\btime\.sleep\(", ("io",), "`await asyncio.sleep(...)`, which lets the loop serve others meanwhile"),
    Remedy("sqlite3", r"\bsqlite3\b|\.execute(many)?\(|\.fetch(one|all|many)\(|\.commit\(", ("io",),
           "an async driver (`aiosqlite`), or the query in a thread: `await asyncio.to_thread(...)`, or a plain `def` route"),
    Remedy("HTTP client", r"\brequests\.|\burllib\b|\bhttpx\.(get|post|put|delete|request)\(|\.(get|post|put|patch|delete|request)\(",
           ("io",), "`httpx.AsyncClient`, made once in the lifespan and awaited"),
    Remedy("file", r"\bopen\(|\.read(_text|_bytes)?\(|\bjson\.load\(|\.write(_text|_bytes)?\(", ("io",),
           "`anyio.Path(...).read_text()` or `anyio.open_file(...)`, or the read in `asyncio.to_thread`"),
    Remedy("subprocess", r"\bsubprocess\.|\bos\.system\(", ("io",), "`asyncio.create_subprocess_exec(...)`, awaited"),
    Remedy("threading lock", r"\.acquire\(|\.wait\(|\bLock\(|\bEvent\(|\bwith\s+\S*lock", ("io",),
           "the `asyncio` lock or event, awaited, or the wait moved into a thread"),
    Remedy("hashing", r"\bhashlib\.|\bbcrypt\b|\bscrypt\b|\bpbkdf2", ("cpu",),
           "`await asyncio.to_thread(...)`: hashlib lets go of the GIL while it hashes; or a process pool"),
    Remedy("CPU work", r".", ("cpu",),
           "a process pool made in the lifespan: `await loop.run_in_executor(pool, work, ...)`; threads do not run Python in parallel"),
    Remedy("GIL", r".", ("gil",),
           "a process pool, or a C library that lets go of the GIL: threads do not run Python in parallel"),
    Remedy("a wait", r".", ("io",), "an async version of the call, awaited, or the call in a thread: `await asyncio.to_thread(...)`"),
)


def remedy_for(code: str, kind: str) -> Remedy | None:
    """The first row of `REMEDIES` that matches the blamed line and its kind."""
    return next((r for r in REMEDIES if r.matches(code, kind)), None)
