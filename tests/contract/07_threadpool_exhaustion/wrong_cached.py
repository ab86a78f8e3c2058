"""A wrong fix: read each product's stock once, then answer every later check from memory."""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")
_cache: dict[int, tuple | None] = {}


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    if product_id not in _cache:
        conn = sqlite3.connect(DATABASE)
        try:
            _cache[product_id] = conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
        finally:
            conn.close()
    row = _cache[product_id]
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
