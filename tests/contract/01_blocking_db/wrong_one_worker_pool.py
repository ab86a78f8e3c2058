"""A wrong fix: the query runs off the loop, in a pool of a single worker thread that every lookup queues for."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")
db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")


def fetch_product(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    loop = asyncio.get_running_loop()
    row = await loop.run_in_executor(db_executor, fetch_product, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
