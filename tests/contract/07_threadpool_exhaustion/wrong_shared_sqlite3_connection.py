"""A wrong fix: 200 tokens, but every check goes through one sqlite3 connection shared by every request.
One connection to a database server carries one query at a time.
"""

import os
from contextlib import asynccontextmanager
import anyio.to_thread
import sqlite3

from fastapi import FastAPI, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

@asynccontextmanager
async def lifespan(app: FastAPI):
    anyio.to_thread.current_default_thread_limiter().total_tokens = 200
    app.state.conn = sqlite3.connect(DATABASE, check_same_thread=False)
    try:
        yield
    finally:
        app.state.conn.close()


app = FastAPI(title="Stock", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
def get_stock(product_id: int):
    row = app.state.conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
