"""A correct fix: `asyncio.to_thread`, once the lifespan has given the loop a default executor big enough for the burst."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=128))
    yield


app = FastAPI(title="Stock", lifespan=lifespan)


def fetch_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int):
    row = await asyncio.to_thread(fetch_stock, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
