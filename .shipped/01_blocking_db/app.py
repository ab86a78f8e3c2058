"""Kata 01 · blocking_db: the product catalogue.

Goal: serve many product lookups at the same time. Today, when twenty shoppers open a product
page together, the last of them waits two seconds. Read README.md for the whole story.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    # TODO: one shopper gets an answer in a tenth of a second; twenty shoppers at once make this
    # route take two seconds for the last of them. Why?
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
