"""A wrong fix: aiosqlite, plus a cache that keeps each product for ten minutes, so a restock goes unseen."""

import os
import time

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_SECONDS = 600

app = FastAPI(title="Catalogue")
_cache: dict[int, tuple[float, tuple | None]] = {}


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        row = cached[1]
    else:
        async with aiosqlite.connect(DATABASE) as conn:
            cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
            row = await cursor.fetchone()
        _cache[product_id] = (time.monotonic(), row)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
