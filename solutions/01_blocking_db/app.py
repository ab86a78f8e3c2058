"""Kata 01 · blocking_db: the product catalogue (reference solution)."""

import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    # Why this works: aiosqlite runs each query in its own thread and `await`s the result, so
    # while this request waits on the database the event loop goes on serving the others.
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
