"""Kata 13 · cache_stampede: product pages behind a cache (reference solution)."""

import asyncio
import os
import time

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
# Stock changes fast: a product's page may be at most half a second older than the database.
CACHE_TTL_S = 0.5

app = FastAPI(title="Product pages")

# product id -> (when the copy expires, the product)
_cache: dict[int, tuple[float, dict]] = {}
# product id -> the one load of it in flight
_loading: dict[int, asyncio.Task] = {}


async def load_product(product_id: int) -> dict | None:
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        return None
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}


async def load_and_cache(product_id: int) -> dict | None:
    try:
        product = await load_product(product_id)
        if product is not None:
            _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
        return product
    finally:
        del _loading[product_id]


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    # Why this works: the first request to miss starts one task that loads the product, and
    # every request that misses while it is in flight awaits that same task instead of
    # starting a query of its own: fifty misses, one query. Other products have tasks of their
    # own, so they are loaded side by side. `shield` keeps a shopper who gives up from
    # cancelling the load the others wait for.
    task = _loading.get(product_id)
    if task is None:
        task = _loading[product_id] = asyncio.create_task(load_and_cache(product_id))
    product = await asyncio.shield(task)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
