"""Kata 07 · threadpool_exhaustion: stock levels for the flash sale.

Goal: answer a hundred stock checks at the same time. Today they are served forty at a time,
because each one holds a worker thread while it waits on the database. Read README.md for the
whole story.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

# TODO: FastAPI runs every `def` route in a worker thread from its threadpool, and the pool
# lends only so many threads at once. Nothing here says how many this app may use.
app = FastAPI(title="Stock")


@app.get("/products/{product_id}/stock")
def get_stock(product_id: int):
    # TODO: this route holds its worker thread for the whole database round trip (about
    # 200 ms), doing nothing but wait. Once every thread is taken, the next request waits too.
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
