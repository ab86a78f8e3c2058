"""A wrong fix: a thread pool of the app's own, made in the lifespan, but with 20 threads for a burst of 100."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with ThreadPoolExecutor(max_workers=20, thread_name_prefix="stock-db") as pool:
        app.state.database_threads = pool
        yield


app = FastAPI(title="Stock", lifespan=lifespan)


def fetch_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int, request: Request):
    loop = asyncio.get_running_loop()
    row = await loop.run_in_executor(request.app.state.database_threads, fetch_stock, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
