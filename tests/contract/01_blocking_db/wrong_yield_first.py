"""A wrong fix: yield to the loop once before the query; the query itself still blocks it."""

import asyncio
import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    await asyncio.sleep(0)  # let the other requests in first
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
