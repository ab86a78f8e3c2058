"""Kata 01, a wrong fix: the query handed to a process pool, a process started per lookup."""

import asyncio
import os
import sqlite3
from concurrent.futures import ProcessPoolExecutor

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


def read(product_id):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    # Off the loop, in a process pool: the query runs in a worker process of its own.
    with ProcessPoolExecutor(max_workers=1) as pool:
        row = await asyncio.get_running_loop().run_in_executor(pool, read, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
