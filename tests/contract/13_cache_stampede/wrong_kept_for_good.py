"""A wrong fix: one load per product, shared by every request that misses, but the copy is kept for good: a restock never shows."""

import asyncio
import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Product pages")

_products: dict[int, asyncio.Task] = {}


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
    if product_id not in _products:
        _products[product_id] = asyncio.create_task(load_product(product_id))
    product = await asyncio.shield(_products[product_id])
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
