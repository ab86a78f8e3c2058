"""A wrong fix: every batch read in a thread first, then streamed from memory: the loop is free, but the first rows wait for the whole export."""

import asyncio
import os
import sqlite3

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
BATCH_SIZE = 10

app = FastAPI(title="Back office")


def fetch_batch(after_id: str) -> list[tuple[str, int, int]]:
    """The next BATCH_SIZE orders by id after `after_id`: one round trip to the database."""
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute(
            "SELECT id, product_id, quantity FROM orders WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, BATCH_SIZE),
        ).fetchall()
    finally:
        conn.close()


def fetch_all() -> list[tuple[str, int, int]]:
    rows, last_id = [], ""
    while batch := fetch_batch(last_id):
        last_id = batch[-1][0]
        rows += batch
    return rows


async def order_lines():
    rows = await asyncio.to_thread(fetch_all)
    yield "order_id,product_id,quantity\n"
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        yield "".join(f"{order_id},{product_id},{quantity}\n" for order_id, product_id, quantity in batch)


@app.get("/orders.csv")
async def export_orders():
    return StreamingResponse(order_lines(), media_type="text/csv")


@app.get("/health")
async def health():
    return {"status": "ok"}
