"""A wrong fix: one aiosqlite connection, opened in the lifespan and shared by every request."""

import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with aiosqlite.connect(DATABASE) as conn:
        yield {"db": conn}


app = FastAPI(title="Catalogue", lifespan=lifespan)


@app.get("/products/{product_id}")
async def get_product(product_id: int, request: Request):
    cursor = await request.state.db.execute("SELECT id, name, price, stock FROM products WHERE id = ?", (product_id,))
    row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
