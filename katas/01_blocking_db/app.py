"""Kata 01 · blocking_db: the product catalogue.

Goal: serve many product lookups at the same time. Today every lookup makes all the others
wait, because the database call blocks the event loop. Read README.md for the whole story.
"""

import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    # TODO: this route is `async def`, but the query below is synchronous: while it waits for
    # the database (about 100 ms over the network), the whole event loop waits with it.
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
