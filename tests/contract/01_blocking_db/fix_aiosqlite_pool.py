"""A correct fix: aiosqlite connections opened in the lifespan, lent out one per request from a queue."""

import asyncio
import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
POOL_SIZE = 10


@asynccontextmanager
async def lifespan(app: FastAPI):
    pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
    for _ in range(POOL_SIZE):
        pool.put_nowait(await aiosqlite.connect(DATABASE))
    try:
        yield {"pool": pool}
    finally:
        while not pool.empty():
            await pool.get_nowait().close()


app = FastAPI(title="Catalogue", lifespan=lifespan)


@app.get("/products/{product_id}")
async def get_product(product_id: int, request: Request):
    pool = request.state.pool
    conn = await pool.get()
    try:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    finally:
        pool.put_nowait(conn)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
