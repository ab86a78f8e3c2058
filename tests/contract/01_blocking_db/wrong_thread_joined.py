"""A wrong fix: the query runs in a new thread, and the route joins that thread on the loop."""

import os
import sqlite3
import threading

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Catalogue")


def fetch_product(product_id: int, found: list):
    conn = sqlite3.connect(DATABASE)
    try:
        found.append(conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone())
    finally:
        conn.close()


@app.get("/products/{product_id}")
async def get_product(product_id: int):
    found: list = []
    worker = threading.Thread(target=fetch_product, args=(product_id, found))
    worker.start()
    worker.join()
    row = found[0]
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
