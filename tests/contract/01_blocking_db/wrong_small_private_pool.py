"""A wrong fix: a thread pool of the app's own, made in the lifespan, with fewer threads than a burst needs."""

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="db") as pool:
        yield {"db_pool": pool}


app = FastAPI(title="Catalogue", lifespan=lifespan)


def fetch_product(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int, request: Request):
    loop = asyncio.get_running_loop()
    row = await loop.run_in_executor(request.state.db_pool, fetch_product, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
