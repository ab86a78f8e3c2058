"""A wrong fix: the key lookups run in threads, but all through one sqlite3 connection shared by every
request. One connection to a database server carries one query at a time.
"""

import logging
import os
from contextlib import asynccontextmanager
import anyio.to_thread
import sqlite3
from contextvars import ContextVar

import aiosqlite
from fastapi import Depends, FastAPI, Header, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

# Who is making the current request. `authenticate` sets it once; the code below it reads it
# without the user being passed down through every call.
current_user: ContextVar[str] = ContextVar("current_user", default="anonymous")
audit_log = logging.getLogger("shop.audit")

@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.key_conn = sqlite3.connect(DATABASE, check_same_thread=False)
    try:
        yield
    finally:
        app.state.key_conn.close()


app = FastAPI(title="Partner prices", lifespan=lifespan)


def audit(action: str) -> None:
    """Write one line to the audit log, naming the user who did it."""
    audit_log.info("user=%s %s", current_user.get(), action)


def lookup(x_api_key: str):
    return app.state.key_conn.execute("SELECT username FROM api_keys WHERE key = ?", (x_api_key,)).fetchone()


async def authenticate(x_api_key: str = Header()) -> str:
    row = await anyio.to_thread.run_sync(lookup, x_api_key)
    if row is None:
        raise HTTPException(status_code=401, detail="unknown API key")
    current_user.set(row[0])
    return row[0]


@app.get("/products/{product_id}", dependencies=[Depends(authenticate)])
async def get_product(product_id: int):
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    audit(f"read product {product_id}")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
