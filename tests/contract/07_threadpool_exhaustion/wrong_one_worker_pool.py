"""A wrong fix: the query goes to a thread pool of the app's own, with a single worker."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Stock")
database_thread = ThreadPoolExecutor(max_workers=1)


def fetch_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    loop = asyncio.get_running_loop()
    row = await loop.run_in_executor(database_thread, fetch_stock, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
