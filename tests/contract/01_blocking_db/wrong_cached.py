"""A wrong fix: query once with the blocking driver, then serve every later lookup from memory."""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")
_cache: dict[int, tuple] = {}


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    if product_id not in _cache:
        conn = sqlite3.connect(DATABASE)
        try:
            _cache[product_id] = conn.execute(
                "SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)
            ).fetchone()
        finally:
            conn.close()
    row = _cache[product_id]
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
