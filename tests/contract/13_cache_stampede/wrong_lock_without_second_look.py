"""A wrong fix: a lock per product, but no second look at the cache once it is held: the queries take turns, one per request."""

import asyncio
import os
import time
from collections import defaultdict

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_TTL_S = 0.5

app = FastAPI(title="Product pages")

_cache: dict[int, tuple[float, dict]] = {}

_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


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
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    async with _locks[product_id]:
        product = await load_product(product_id)
        if product is None:
            raise HTTPException(status_code=404, detail="no such product")
        _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    return product
