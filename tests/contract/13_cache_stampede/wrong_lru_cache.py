"""A wrong fix: functools.lru_cache on the async loader. It keeps the coroutine object, not the product: a second await of it fails."""

import functools
import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Product pages")


@functools.lru_cache(maxsize=1024)
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
    product = await load_product(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
