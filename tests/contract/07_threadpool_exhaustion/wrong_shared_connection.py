"""A wrong fix: aiosqlite, but through one connection opened in the lifespan and shared by every request."""

import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with aiosqlite.connect(DATABASE) as conn:
        app.state.db = conn
        yield


app = FastAPI(title="Stock", lifespan=lifespan)


@app.get("/products/{product_id}/stock")
async def get_stock(product_id: int, request: Request):
    cursor = await request.app.state.db.execute("SELECT name, stock FROM products WHERE id = ?", (product_id,))
    row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    name, stock = row
    return {"id": product_id, "name": name, "stock": stock, "in_stock": stock > 0}
