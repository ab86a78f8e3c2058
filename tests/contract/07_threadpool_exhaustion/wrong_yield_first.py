"""A wrong fix: `async def` that yields to the loop with asyncio.sleep(0), then runs the blocking query on it."""

import asyncio
import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    await asyncio.sleep(0)  # let the other shoppers in first
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
