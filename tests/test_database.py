"""The kata world's database: a real SQLite file whose queries each pay a round trip, counted as
they happen, with a tripwire on every query made on an event loop's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import aiosqlite
import pytest

from fastapi_async_katas.engine.userfiles import UserFiles
from fastapi_async_katas.world.database import PRODUCTS, Database

HERE = UserFiles.under([Path(__file__).parent])


@pytest.fixture
def database(tmp_path: Path):
    db = Database(tmp_path / "shop.db", latency_s=0.2, user_files=HERE)
    with db.installed():
        yield db


def read_stock(db: Database, product_id: int) -> int:
    conn = sqlite3.connect(db.path)
    try:
        return conn.execute("SELECT stock FROM products WHERE id = ?", (product_id,)).fetchone()[0]
    finally:
        conn.close()


def test_it_is_seeded_and_direct_access_is_not_counted(database):
    assert database.query("SELECT id, name, price, stock FROM products ORDER BY id") == PRODUCTS
    database.execute("UPDATE products SET stock = 7 WHERE id = 1")
    assert database.query("SELECT stock FROM products WHERE id = 1") == [(7,)]
    assert database.total_queries == 0


def test_every_query_through_the_driver_waits_its_round_trip_and_is_counted(database):
    began = time.perf_counter()
    assert read_stock(database, 1) == PRODUCTS[0][3]
    assert time.perf_counter() - began >= database.latency_s
    assert database.total_queries == 1


def test_queries_from_threads_at_once_are_in_flight_together(database):
    gate = threading.Barrier(5)

    def reader() -> None:
        gate.wait()
        read_stock(database, 2)

    threads = [threading.Thread(target=reader) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert database.total_queries == 5
    assert database.peak_in_flight == 5
    assert database.in_flight == 0


def test_queries_one_after_another_are_never_in_flight_together(database):
    for _ in range(3):
        read_stock(database, 3)
    assert database.peak_in_flight == 1


def test_a_query_on_the_event_loops_thread_trips_the_wire_at_its_line(database):
    async def route() -> int:
        return read_stock(database, 1)

    asyncio.run(route())
    [query] = database.loop_queries
    assert query.place.function == "read_stock" and "fetchone" in query.place.code
    assert query.wall_ms >= database.latency_s * 1000


def test_a_query_from_a_worker_thread_or_through_aiosqlite_trips_nothing(database):
    async def route() -> None:
        await asyncio.to_thread(read_stock, database, 1)
        async with aiosqlite.connect(database.path) as conn:
            cursor = await conn.execute("SELECT stock FROM products WHERE id = 2")
            await cursor.fetchone()

    asyncio.run(route())
    assert database.total_queries == 2
    assert database.loop_queries == []


def test_other_databases_are_left_alone(database, tmp_path):
    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    assert database.total_queries == 0


def test_reset_counters_starts_the_counts_afresh(database):
    read_stock(database, 1)
    database.reset_counters()
    assert (database.total_queries, database.peak_in_flight, database.loop_queries) == (0, 0, [])


def test_the_driver_is_put_back_when_the_database_is_done(tmp_path):
    db = Database(tmp_path / "shop.db", latency_s=0.01)
    with db.installed():
        read_stock(db, 1)
    read_stock(db, 1)
    assert db.total_queries == 1
