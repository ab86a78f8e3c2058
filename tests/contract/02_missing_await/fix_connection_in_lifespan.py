"""A correct fix: one aiosqlite connection, opened in the lifespan, and every call on it awaited."""

import os
import uuid
from contextlib import asynccontextmanager

import aiosqlite
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with aiosqlite.connect(DATABASE) as conn:
        yield {"db": conn}


app = FastAPI(title="Order desk", lifespan=lifespan)


class NewOrder(BaseModel):
    product_id: int
    quantity: int


@app.post("/orders", status_code=201)
async def create_order(order: NewOrder, request: Request):
    order_id = uuid.uuid4().hex
    db = request.state.db
    await db.execute(
        "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
        (order_id, order.product_id, order.quantity),
    )
    await db.commit()
    return {"id": order_id, "product_id": order.product_id, "quantity": order.quantity}


@app.get("/orders/{order_id}")
async def get_order(order_id: str, request: Request):
    cursor = await request.state.db.execute("SELECT id, product_id, quantity FROM orders WHERE id = ?", (order_id,))
    row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    return {"id": row[0], "product_id": row[1], "quantity": row[2]}
