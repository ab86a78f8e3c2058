"""A wrong fix: a lock per stripe of products, two stripes: products 1 and 3 share a lock, so
one waits for the other's query."""

import asyncio
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


# A few locks shared by all products, not one per product.
STRIPES = 2
_locks = [asyncio.Lock() for _ in range(STRIPES)]


def fresh(product_id: int) -> dict | None:
    cached = _cache.get(product_id)
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    product = fresh(product_id)
    if product is None:
        async with _locks[product_id % STRIPES]:
            product = fresh(product_id)
            if product is None:
                product = await load_product(product_id)
                if product is None:
                    raise HTTPException(status_code=404, detail="no such product")
                _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    return product
