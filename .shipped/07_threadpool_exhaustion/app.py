"""Kata 07 · threadpool_exhaustion: stock levels for the flash sale.

Goal: a hundred shoppers who check the stock at the same moment all get their answer at once.
Today the answers come back in batches, and the last shoppers wait about three times as long
as the first. Read README.md for the whole story.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")


# TODO: when a hundred shoppers check the stock at once, this route answers them in batches,
# and the database sits idle most of the time. Why?
@app.get("/products/{product_id}/stock")
def get_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
