"""A real SQLite database that behaves like one across a network.

Every query pays a simulated round trip inside the driver call, in the connection and cursor
classes that `sqlite3.connect` hands out for this database, so the SQL in a kata reads like
ordinary SQL and `aiosqlite` (which calls `sqlite3.connect` in its own thread) pays it too.
The database counts the queries in flight, and notes every query that ran on a thread with a
running event loop: that query blocked the loop (a tripwire).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi_async_katas.engine.processes import ProcessStart, processes_started
from fastapi_async_katas.engine.records import max_overlap
from fastapi_async_katas.engine.userfiles import Place, UserFiles
from fastapi_async_katas.world.database_checks import DatabaseChecks, LoopQuery, QueryRecord
from fastapi_async_katas.world.waiting import AppWatch

ENV_VAR = "SHOP_DATABASE"
DEFAULT_LATENCY_S = 0.1

SCHEMA = """
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    price REAL NOT NULL,
    stock INTEGER NOT NULL
);
CREATE TABLE api_keys (
    key TEXT PRIMARY KEY,
    username TEXT NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL
);
"""

PRODUCTS = [
    (1, "Foo", 9.5, 12),
    (2, "Bar", 42.0, 3),
    (3, "Baz", 3.25, 120),
]

API_KEYS = [
    ("key-foo", "foo"),
    ("key-bar", "bar"),
]

_original_connect = sqlite3.connect


class Database(DatabaseChecks):
    """A seeded SQLite file whose queries each wait `latency_s`, as if the server were remote.

    `log` holds every query's round trip, in the order they came back.
    """

    def __init__(self, path: Path, *, latency_s: float = DEFAULT_LATENCY_S, user_files: UserFiles | None = None) -> None:
        self.path = Path(path)
        self.latency_s = latency_s
        self.user_files = user_files or UserFiles()
        self._lock = threading.Lock()
        self._hurried = threading.Event()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.total_queries = 0
        self.loop_queries: list[LoopQuery] = []
        self.log: list[QueryRecord] = []
        self._querying: set[int] = set()  # the threads in a round trip now
        # Processes the app started: what they query, they query out of this database's sight.
        self.process_starts: list[ProcessStart] = []
        self._app: AppWatch | None = None
        self._seed()

    def _seed(self) -> None:
        with _original_connect(self.path) as conn:
            conn.executescript(SCHEMA)
            conn.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
            conn.executemany("INSERT INTO api_keys VALUES (?, ?)", API_KEYS)

    # -- for tests: direct access, no latency, not counted -----------------------------
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with _original_connect(self.path) as conn:
            return conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with _original_connect(self.path) as conn:
            conn.execute(sql, params)

    def reset_counters(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight
            self.total_queries = 0
            self.loop_queries = []
            self.log = []

    # -- what the database saw ------------------------------------------------------------
    def queries_between(self, start: float, end: float, matching: str = "") -> list[QueryRecord]:
        """The queries (whose SQL holds `matching`) in flight at some moment between `start` and `end`."""
        with self._lock:
            return [q for q in self.log if q.finished is not None and q.started <= end and q.finished >= start and matching in q.sql]

    def peak_between(self, start: float, end: float, matching: str = "") -> int:
        """The most queries (whose SQL holds `matching`) in flight at one moment between `start` and `end`."""
        spans = [(max(q.started, start), min(q.finished or end, end)) for q in self.queries_between(start, end, matching)]
        return max_overlap(spans)

    # -- the driver --------------------------------------------------------------------
    def watch_app(self, loop: asyncio.AbstractEventLoop, user_files: UserFiles, skip_files: Iterable[str] = ()) -> None:
        """Note, for each query, the lines of the app (on `loop`) that were waiting meanwhile."""
        self._app = AppWatch(loop, user_files, frozenset(os.path.abspath(f) for f in skip_files))

    @contextmanager
    def installed(self) -> Iterator["Database"]:
        """Route `sqlite3.connect` for this file through the remote-like driver."""
        target = self.path.resolve()
        database = self

        def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            if isinstance(path, (str, Path)) and str(path) != ":memory:" and Path(path).resolve() == target:
                kwargs["factory"] = RemoteConnection
                conn = _original_connect(path, *args, **kwargs)
                conn._database = database  # type: ignore[attr-defined]
                # One connection is one line to the server: its queries go one at a time, from
                # whichever threads share it (with check_same_thread=False).
                conn._one_at_a_time = threading.RLock()  # type: ignore[attr-defined]
                return conn
            return _original_connect(path, *args, **kwargs)

        sqlite3.connect = connect  # type: ignore[assignment]
        try:
            with processes_started(self.user_files) as self.process_starts:
                yield self
        finally:
            sqlite3.connect = _original_connect  # type: ignore[assignment]

    def _note_threads(self, query: QueryRecord) -> None:
        assert self._app is not None
        with self._lock:
            querying = set(self._querying)
        query.threads_waiting = self._app.thread_places(querying)

    def hurry(self, hurried: bool = True) -> None:
        """Once what a test measures is over, answer every query at once (the ones waiting too),
        so that queries an app queued up do not hold its shutdown; `hurry(False)` ends that."""
        if hurried:
            self._hurried.set()
        else:
            self._hurried.clear()

    def _round_trip(self, sql: str, params: Any) -> None:
        on_loop = asyncio._get_running_loop() is not None
        started, cpu0 = time.perf_counter(), time.thread_time()
        with self._lock:
            self.in_flight += 1
            self.total_queries += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self._querying.add(threading.get_ident())
        shown = tuple(params) if isinstance(params, (tuple, list)) else ()
        query = QueryRecord(sql, shown, started, on_loop=on_loop)
        if self._app is not None and not on_loop:
            self._app.note_soon(query)
        try:
            self._hurried.wait(self.latency_s)
            if self._app is not None and not on_loop and self.in_flight == 1:
                # A query in flight alone, from a thread: where the app's other threads stand
                # meanwhile is where they wait their turn (a lock, a shared connection).
                self._note_threads(query)
        finally:
            with self._lock:
                self.in_flight -= 1
                self._querying.discard(threading.get_ident())
                query.finished = time.perf_counter()
                self.log.append(query)
        if on_loop:
            frame = self.user_files.innermost(sys._getframe(1))
            place = Place.of(frame) if frame is not None else None
            wall_ms = (time.perf_counter() - started) * 1000
            self.loop_queries.append(LoopQuery(place, sql, wall_ms, (time.thread_time() - cpu0) * 1000, started))


class RemoteCursor(sqlite3.Cursor):
    """A cursor whose every call holds its connection, as a query on a server's connection does;
    so threads that share one connection (check_same_thread=False) take turns, and a close
    waits for the query in progress instead of pulling SQLite from under it."""

    def execute(self, sql: str, parameters: Any = (), /) -> "RemoteCursor":  # type: ignore[override]
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            self.connection._database._round_trip(sql, parameters)  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> "RemoteCursor":  # type: ignore[override]
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            self.connection._database._round_trip(sql, ())  # type: ignore[attr-defined]
            return super().executemany(sql, seq_of_parameters)

    def fetchone(self) -> Any:
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            return super().fetchone()

    def fetchmany(self, size: int | None = None) -> list[Any]:
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            return super().fetchmany(size if size is not None else self.arraysize)

    def fetchall(self) -> list[Any]:
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            return super().fetchall()

    def __next__(self) -> Any:
        with self.connection._one_at_a_time:  # type: ignore[attr-defined]
            return super().__next__()


class RemoteConnection(sqlite3.Connection):
    def cursor(self, factory: Any = RemoteCursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executemany(sql, parameters)

    def commit(self) -> None:
        with self._one_at_a_time:  # type: ignore[attr-defined]
            super().commit()

    def close(self) -> None:
        with self._one_at_a_time:  # type: ignore[attr-defined]
            super().close()
