"""A correct fix: `async def` with aiosqlite, through a pool of connections opened in the lifespan, one per shopper of the burst."""

import asyncio
import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
POOL_SIZE = 100


@asynccontextmanager
async def lifespan(app: FastAPI):
    pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
    for _ in range(POOL_SIZE):
        pool.put_nowait(await aiosqlite.connect(DATABASE))
    app.state.pool = pool
    yield
    while not pool.empty():
        await pool.get_nowait().close()


app = FastAPI(title="Stock", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int, request: Request):
    pool = request.app.state.pool
    conn = await pool.get()
    try:
        cursor = await conn.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,))
        row = await cursor.fetchone()
    finally:
        pool.put_nowait(conn)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
