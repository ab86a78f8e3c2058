"""A wrong fix: every product read once at startup, so no request ever misses: the database is spared, and a restock never shows."""

import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

_products: dict[int, dict] = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products")
        for product_id, name, price, stock in await cursor.fetchall():
            _products[product_id] = {"id": product_id, "name": name, "price": price, "stock": stock}
    yield


app = FastAPI(title="Product pages", lifespan=lifespan)


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    product = _products.get(product_id)
    if product is None:
        raise HTTPException(status_code=404, detail="no such product")
    return product
