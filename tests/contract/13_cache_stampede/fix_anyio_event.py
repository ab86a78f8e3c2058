"""A correct fix: an anyio.Event per product in flight; the request that loads sets it, the others wait on it."""

import os
import time

import aiosqlite
import anyio
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_TTL_S = 0.5

app = FastAPI(title="Product pages")

_cache: dict[int, tuple[float, dict]] = {}


async def load_product(product_id: int) -> dict | None:
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        return None
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}


_loaded: dict[int, anyio.Event] = {}


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    while True:
        cached = _cache.get(product_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        event = _loaded.get(product_id)
        if event is None:
            break
        await event.wait()
        if product_id not in _cache:
            raise HTTPException(status_code=404, detail="no such product")
    _loaded[product_id] = event = anyio.Event()
    try:
        product = await load_product(product_id)
        if product is not None:
            _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    finally:
        del _loaded[product_id]
        event.set()
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
