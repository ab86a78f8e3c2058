"""A wrong fix: the query in anyio's threads under a limiter of its own, with 20 tokens for a burst of 100."""

import os
import sqlite3

import anyio
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")
database_threads = anyio.CapacityLimiter(20)


def fetch_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    row = await anyio.to_thread.run_sync(fetch_stock, product_id, limiter=database_threads)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
