"""Kata 16 · blocking_stream: the orders export.

Goal: the back office downloads every order as CSV while the shop goes on serving. The export
streams: it reads the orders ten at a time and sends each batch as soon as it has it. Today,
while an export streams, the load balancer's health checks go unanswered until it is over.
Read README.md for the whole story.
"""

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


async def order_lines():
    yield "order_id,product_id,quantity\n"
    last_id = ""
    # TODO: each batch takes the database about 0.1 s, and the export streams fine; but while it
    # streams, the health checks below get no answer until it is over. Why?
    while batch := fetch_batch(last_id):
        last_id = batch[-1][0]
        yield "".join(f"{order_id},{product_id},{quantity}\n" for order_id, product_id, quantity in batch)


@app.get("/orders.csv")
async def export_orders():
    return StreamingResponse(order_lines(), media_type="text/csv")


@app.get("/health")
async def health():
    return {"status": "ok"}
