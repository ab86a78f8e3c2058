"""A correct fix: an `async def` route with the async driver aiosqlite, so no threadpool token is held."""

import os

import aiosqlite
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
