"""A correct fix (the lesser one): the same tokens, raised in the lifespan, on the server's loop."""

import os
import sqlite3
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    anyio.to_thread.current_default_thread_limiter().total_tokens = 200
    yield


app = FastAPI(title="Stock", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
def get_stock(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
