"""A wrong fix: the query goes to anyio's threadpool, through a limiter of the app's own that lends only 3 threads."""

import os
import sqlite3

import anyio
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")
db_limiter = anyio.CapacityLimiter(3)


def fetch_product(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    row = await anyio.to_thread.run_sync(fetch_product, product_id, limiter=db_limiter)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
