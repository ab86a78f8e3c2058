"""A wrong fix: skip the query per request; read the whole catalogue once, in the lifespan, and answer from memory."""

import os
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, name, price, stock FROM products")
        products = {row[0]: row for row in await cursor.fetchall()}
    yield {"products": products}


app = FastAPI(title="Catalogue", lifespan=lifespan)


@app.get("/products/{product_id}")
async def get_product(product_id: int, request: Request):
    row = request.state.products.get(product_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such product")
    product_id, name, price, stock = row
    return {"id": product_id, "name": name, "price": price, "stock": stock}
