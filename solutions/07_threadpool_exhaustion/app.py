"""Kata 07 · threadpool_exhaustion: stock levels for the flash sale (reference solution)."""

import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    # Why this works: a `def` route holds one of anyio's 40 threadpool tokens for as long as
    # its worker thread runs, waiting on the database included, so a hundred checks queued in
    # waves of forty. An `async def` route with the async driver aiosqlite holds no token at
    # all: while its query waits, the event loop serves the other checks, and the database
    # sees the hundred queries together. (Raising the limiter's tokens in a lifespan passes
    # too, but each check still ties up a thread for its whole wait.)
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
