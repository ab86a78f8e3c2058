"""A wrong fix: one load per product in flight, but an expired copy is still served while a refresh runs after the answer."""

import asyncio
import os
import time

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
CACHE_TTL_S = 0.5

app = FastAPI(title="Product pages")

_cache: dict[int, tuple[float, dict]] = {}
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


def start_loading(product_id: int) -> asyncio.Task:
    if product_id not in _loading:
        _loading[product_id] = asyncio.create_task(load_and_cache(product_id))
    return _loading[product_id]


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    cached = _cache.get(product_id)
    if cached is not None:
        if cached[0] <= time.monotonic():
            start_loading(product_id)  # refreshed for the next shopper; this one gets the old copy at once
        return cached[1]
    product = await asyncio.shield(start_loading(product_id))
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
