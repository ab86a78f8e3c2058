"""A wrong fix: a lock per product and a cache, but an unknown product's None is cached too: asked again, it answers 200 null."""

import os
import time

import aiosqlite
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


def fresh(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    return None
import asyncio
from collections import defaultdict

_locks = defaultdict(asyncio.Lock)


def lookup(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None and cached[0] > time.monotonic():
        return True, cached[1]
    return False, None


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    found, product = lookup(product_id)
    if found:
        return product
    async with _locks[product_id]:
        found, product = lookup(product_id)
        if found:
            return product
        product = await load_product(product_id)
        _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
