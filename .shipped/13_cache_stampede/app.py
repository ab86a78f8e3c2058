"""Kata 13 · cache_stampede: product pages behind a cache.

Goal: the cache spares the database, even at the busiest moment. Today, each time a product's
cached copy is missing or has expired, fifty shoppers who open its page at once still send the
database fifty queries. Read README.md for the whole story.
"""

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
    # TODO: the cache is here to spare the database, yet when fifty shoppers open a product
    # whose copy has expired, the database receives fifty queries for it. Why?
    product = await load_product(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    _cache[product_id] = (time.monotonic() + CACHE_TTL_S, product)
    return product
