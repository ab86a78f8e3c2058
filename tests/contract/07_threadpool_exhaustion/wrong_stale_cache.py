"""A wrong fix: keep each product's stock for five seconds, so a sale in between goes unseen."""

import os
import time

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_SECONDS = 5.0

app = FastAPI(title="Stock")
_cache: dict[int, tuple[float, tuple | None]] = {}


async def fetch_stock(product_id: int):
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,))
        return await cursor.fetchone()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        row = cached[1]
    else:
        row = await fetch_stock(product_id)
        _cache[product_id] = (time.monotonic(), row)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
