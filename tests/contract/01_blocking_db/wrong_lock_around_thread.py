"""A wrong fix: the query runs in a thread, but an asyncio.Lock lets only one lookup at a time reach it."""

import asyncio
import os
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")
db_lock = asyncio.Lock()


def fetch_product(product_id: int):
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    async with db_lock:  # "sqlite does not like concurrent access"
        row = await asyncio.to_thread(fetch_product, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
