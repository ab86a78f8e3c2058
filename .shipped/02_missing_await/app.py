"""Kata 02 · missing_await: the order desk.

Goal: an order that is accepted is stored, and can be read back. Today the desk answers
"201 Created" for every order while the database stays empty, and reading an order back
fails with a 500. Read README.md for the whole story.
"""

import os
import uuid

import aiosqlite
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Order desk")


class NewOrder(BaseModel):
    product_id: int
    quantity: int


async def save_order(order_id: str, order: NewOrder) -> None:
    async with aiosqlite.connect(DATABASE) as conn:
        await conn.execute(
            "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
            (order_id, order.product_id, order.quantity),
        )
        await conn.commit()


async def fetch_order(order_id: str) -> dict:
    async with aiosqlite.connect(DATABASE) as conn:
        cursor = await conn.execute("SELECT id, product_id, quantity FROM orders WHERE id = ?", (order_id,))
        row = await cursor.fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    return {"id": row[0], "product_id": row[1], "quantity": row[2]}


@app.post("/orders", status_code=201)
async def create_order(order: NewOrder):
    order_id = uuid.uuid4().hex
    # TODO: every order gets its 201, yet the orders table stays empty. Why?
    save_order(order_id, order)
    return {"id": order_id, "product_id": order.product_id, "quantity": order.quantity}


@app.get("/orders/{order_id}")
async def get_order(order_id: str):
    # TODO: looking any order up answers 500 Internal Server Error. Why?
    return fetch_order(order_id)
