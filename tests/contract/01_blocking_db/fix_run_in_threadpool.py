"""A correct fix: keep `async def`, run the blocking query with Starlette's run_in_threadpool."""

import os
import sqlite3

from fastapi import FastAPI, HTTPException
from starlette.concurrency import run_in_threadpool

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


def fetch_product(product_id: int):
    with sqlite3.connect(DATABASE) as conn:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    row = await run_in_threadpool(fetch_product, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
