"""Kata 08 · sync_dependency: the partner price list.

Goal: partners read wholesale prices with their API key, and the audit log records which
partner read what. Today every line of the audit log says "anonymous". Read README.md for the
whole story.
"""

import logging
import os
import sqlite3
from contextvars import ContextVar

import aiosqlite
from fastapi import Depends, FastAPI, Header, HTTPException

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

# Who is making the current request. `authenticate` sets it once; the code below it reads it
# without the user being passed down through every call.
current_user: ContextVar[str] = ContextVar("current_user", default="anonymous")
audit_log = logging.getLogger("shop.audit")

app = FastAPI(title="Partner prices")


def audit(action: str) -> None:
    """Write one line to the audit log, naming the user who did it."""
    audit_log.info("user=%s %s", current_user.get(), action)


# TODO: this finds the partner who owns the key and sets `current_user`, yet the audit log
# writes user=anonymous for every read. Why?
def authenticate(x_api_key: str = Header()) -> str:
    """Find the partner who owns this API key, or refuse the request."""
    conn = sqlite3.connect(DATABASE)
    try:
        row = conn.execute("SELECT username FROM api_keys WHERE key = ?", (x_api_key,)).fetchone()
    finally:
        conn.close()
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
