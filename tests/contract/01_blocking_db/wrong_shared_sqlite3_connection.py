"""A wrong fix: a plain `def` route, but one sqlite3 connection (check_same_thread=False) shared by every
request. One connection to a database server carries one query at a time.
"""
import os
import sqlite3
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.conn = sqlite3.connect(DATABASE, check_same_thread=False)
    try:
        yield
    finally:
        app.state.conn.close()


app = FastAPI(title="Catalogue", lifespan=lifespan)


@app.get("/products/{product_id}")
def get_product(product_id: int):
    row = app.state.conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
