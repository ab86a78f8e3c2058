"""The export read in a thread, but a thousand orders a query instead of ten: one batch holds them all."""

import asyncio
import os
import sqlite3

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
BATCH_SIZE = 1000

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


async def order_lines():
    yield "order_id,product_id,quantity\n"
    last_id = ""
    while batch := await asyncio.to_thread(fetch_batch, last_id):
        last_id = batch[-1][0]
        yield "".join(f"{order_id},{product_id},{quantity}\n" for order_id, product_id, quantity in batch)


@app.get("/orders.csv")
async def export_orders():
    return StreamingResponse(order_lines(), media_type="text/csv")


@app.get("/health")
async def health():
    return {"status": "ok"}
