"""A correct fix: the cache keeps the task that loads a product, so a request that comes while it runs awaits the same task."""

import asyncio
import os
import time

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_TTL_S = 0.5

app = FastAPI(title="Product pages")

_cache: dict[int, tuple[float, asyncio.Task]] = {}


async def load_product(product_id: int) -> dict | None:
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        return None
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    cached = _cache.get(product_id)
    if cached is None or cached[0] <= time.monotonic():
        task = asyncio.create_task(load_product(product_id))
        cached = _cache[product_id] = (time.monotonic() + CACHE_TTL_S, task)
    task = cached[1]
    try:
        product = await asyncio.shield(task)
    except Exception:
        if _cache.get(product_id) is cached:
            del _cache[product_id]
        raise
    if product is None:
        _cache.pop(product_id, None)
        raise HTTPException(status_code=404, detail="no such product")
    return product
