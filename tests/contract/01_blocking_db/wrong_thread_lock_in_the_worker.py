"""A wrong fix: the query runs in a thread, but a threading.Lock inside the thread's function lets
only one lookup at a time reach the database."""

import asyncio
import os
import sqlite3
import threading

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
db_lock = threading.Lock()

app = FastAPI(title="Catalogue")


def read(product_id: int):
    with db_lock:  # "sqlite3 is not thread-safe"
        conn = sqlite3.connect(DATABASE)
        try:
            return conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
        finally:
            conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    row = await asyncio.to_thread(read, product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
