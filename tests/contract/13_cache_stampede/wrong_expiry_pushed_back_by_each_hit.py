"""A wrong fix: one lock per product, but every hit pushes the copy's expiry back: while
shoppers keep coming, the copy never expires and a restock never shows."""

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


async def load_product(product_id: int) -> dict | None:
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        return None
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}


_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


def fresh(product_id: int) -> dict | None:
    cached = _cache.get(product_id)
    if cached is None or cached[0] <= time.monotonic():
        return None
    # Each hit keeps the copy warm for another half second.
    _cache[product_id] = (time.monotonic() + CACHE_TTL_S, cached[1])
    return cached[1]


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    product = fresh(product_id)
    if product is None:
        async with _locks[product_id]:
            product = fresh(product_id)
            if product is None:
                product = await load_product(product_id)
                if product is None:
                    raise HTTPException(status_code=404, detail="no such product")
                _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    return product
