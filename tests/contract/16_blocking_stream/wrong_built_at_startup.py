"""A wrong fix: the whole file built once at startup and sent from memory: a new order never shows."""

import asyncio
import os
import sqlite3
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
BATCH_SIZE = 10


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


@asynccontextmanager
async def lifespan(app: FastAPI):
    chunks, last_id = ["order_id,product_id,quantity\n"], ""
    while batch := await asyncio.to_thread(fetch_batch, last_id):
        last_id = batch[-1][0]
        chunks.append("".join(f"{order_id},{product_id},{quantity}\n" for order_id, product_id, quantity in batch))
    app.state.export = chunks
    yield


app = FastAPI(title="Back office", lifespan=lifespan)


@app.get("/orders.csv")
async def export_orders(request: Request):
    return StreamingResponse(iter(request.app.state.export), media_type="text/csv")


@app.get("/health")
async def health():
    return {"status": "ok"}
