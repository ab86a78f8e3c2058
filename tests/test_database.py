"""The kata world's database: a real SQLite file whose queries each pay a round trip, counted as
they happen, with a tripwire on every query made on an event loop's thread."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
import time
from pathlib import Path

import aiosqlite
import pytest
from fastapi import BackgroundTasks, FastAPI
from verdicts import explanation

from fastapi_async_katas import KataFailure, serve
from fastapi_async_katas.engine.misconceptions import in_turn
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


# -- the checks, against apps that use the database well and badly --------------------------


def lookup_app(style: str) -> FastAPI:
    app = FastAPI()
    lock = asyncio.Lock()

    def read(product_id: int) -> int:
        conn = sqlite3.connect(os.environ["SHOP_DATABASE"])
        try:
            return conn.execute("SELECT stock FROM products WHERE id = ?", (product_id,)).fetchone()[0]
        finally:
            conn.close()

    shared: list[sqlite3.Connection] = []
    thread_lock = threading.Lock()

    def read_locked(product_id: int) -> int:
        with thread_lock:  # where the other threads wait their turn
            return read(product_id)

    def read_shared(product_id: int) -> int:
        if not shared:
            shared.append(sqlite3.connect(os.environ["SHOP_DATABASE"], check_same_thread=False))
        return shared[0].execute("SELECT stock FROM products WHERE id = ?", (product_id,)).fetchone()[0]

    @app.get("/products/{product_id}")
    async def product(product_id: int):
        if style == "in turn":
            async with lock:
                return {"stock": await asyncio.to_thread(read, product_id)}
        if style == "one shared connection":
            return {"stock": await asyncio.to_thread(read_shared, product_id)}
        if style == "a lock in the threads":
            return {"stock": await asyncio.to_thread(read_locked, product_id)}
        return {"stock": await asyncio.to_thread(read, product_id)}

    return app


@pytest.fixture
def shop_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = Database(tmp_path / "shop.db", latency_s=0.1, user_files=HERE)
    monkeypatch.setenv("SHOP_DATABASE", str(db.path))
    with db.installed():
        yield db


async def test_queries_that_take_turns_behind_a_lock_fail_with_the_requests_in_the_app_together(shop_db):
    async with serve(lookup_app("in turn"), user_files=HERE) as harness:
        run = await harness.fire("GET", "/products/1", n=5)
    with pytest.raises(KataFailure) as failure:
        shop_db.expect_queries_together(run, at_least=3, what="lookups")
    text = explanation(failure.value)
    assert text.startswith("The database received the 5 lookups one after another.")
    assert "at most 1 of them in flight at the database at once" in text
    assert in_turn(5, "their queries", 1) in text
    assert "Queries the database received (one row per query" in text


async def test_queries_through_one_shared_connection_take_turns_as_on_a_real_server(shop_db):
    async with serve(lookup_app("one shared connection"), user_files=HERE) as harness:
        await harness.fire("GET", "/products/1")  # makes the one connection, before the burst shares it
        run = await harness.fire("GET", "/products/1", n=5)
    run.expect_status(200)
    with pytest.raises(KataFailure) as failure:
        shop_db.expect_queries_together(run, at_least=3, what="lookups")
    text = explanation(failure.value)
    assert text.startswith("The database received the 5 lookups one after another.")
    assert in_turn(5, "their queries", 1) in text


async def test_queries_that_take_turns_behind_a_lock_in_the_threads_show_where_the_threads_waited(shop_db):
    shop_db.watch_app(asyncio.get_running_loop(), HERE)
    async with serve(lookup_app("a lock in the threads"), user_files=HERE) as harness:
        run = await harness.fire("GET", "/products/1", n=5)
    with pytest.raises(KataFailure) as failure:
        shop_db.expect_queries_together(run, at_least=3, what="lookups")
    text = explanation(failure.value)
    assert in_turn(5, "their queries", 1) in text
    section = text[text.index("Where the app's other threads waited while one query ran:"):]
    assert re.search(r"\n  (1 thread|up to \d threads at once) at tests/test_database.py:\d+ in read_locked\(\)\n"
                     r"      with thread_lock:  # where the other threads wait their turn\n", section), section


def test_hurried_queries_are_answered_at_once_and_the_next_serve_waits_again(database):
    database.latency_s = 0.5
    database.hurry()
    began = time.perf_counter()
    read_stock(database, 1)
    assert time.perf_counter() - began < 0.4
    database.hurry(False)
    database.latency_s = 0.05
    began = time.perf_counter()
    read_stock(database, 1)
    assert time.perf_counter() - began >= 0.05


async def test_queries_side_by_side_pass(shop_db):
    async with serve(lookup_app("together"), user_files=HERE) as harness:
        run = await harness.fire("GET", "/products/1", n=5)
    shop_db.expect_queries_together(run, at_least=3, what="lookups")


async def test_a_row_written_after_the_answer_fails_with_how_late_it_came(shop_db):
    app = FastAPI()

    def save(order_id: str) -> None:
        conn = sqlite3.connect(os.environ["SHOP_DATABASE"])
        with conn:
            conn.execute("INSERT INTO orders VALUES (?, 1, 2)", (order_id,))
        conn.close()

    @app.post("/orders", status_code=201)
    async def create(background: BackgroundTasks):
        background.add_task(save, "o-1")
        return {"id": "o-1"}

    sql = "SELECT product_id, quantity FROM orders WHERE id = ?"
    when_answered = shop_db.when_answered(sql, lambda body: (body["id"],))
    async with serve(app, user_files=HERE) as harness:
        run = await harness.fire("POST", "/orders", on_answer=when_answered)
    run.expect_status(201)
    assert shop_db.query(sql, ("o-1",)) == [(1, 2)]  # stored, but too late
    with pytest.raises(KataFailure) as failure:
        shop_db.expect_stored_before_answer(run, when_answered, [(1, 2)], what="order")
    text = explanation(failure.value)
    assert text.startswith("POST /orders answered 201 before order o-1 was stored.")
    assert "the database held no row for order o-1" in text
    assert "came back from the database 0.1" in text


def _no_work() -> None:
    return None


def test_a_process_the_app_starts_is_noted_with_its_line(database):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_no_work).result(timeout=60)  # the line the start is put down to
    [start] = database.process_starts
    assert start.place is not None and start.place.code == "pool.submit(_no_work).result(timeout=60)  # the line the start is put down to"


def test_starting_processes_is_watched_only_while_the_database_is_installed(tmp_path: Path):
    import multiprocessing

    before = multiprocessing.process.BaseProcess.start
    db = Database(tmp_path / "shop.db", user_files=HERE)
    with db.installed():
        assert multiprocessing.process.BaseProcess.start is not before
    assert multiprocessing.process.BaseProcess.start is before
