"""A wrong fix: the query runs in a worker thread, but the route waits for it with `.result()` on the loop."""

import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")
db_executor = ThreadPoolExecutor(max_workers=20, thread_name_prefix="db")


def fetch_product(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    row = db_executor.submit(fetch_product, product_id).result()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
