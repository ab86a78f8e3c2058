"""A wrong fix: the query in a ThreadPoolExecutor of 64 threads: more than the threadpool's 40, fewer than the hundred checks, so 36 still wait for a thread."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")
executor = ThreadPoolExecutor(max_workers=64)


def read_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    row = await asyncio.get_running_loop().run_in_executor(executor, read_stock, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}

