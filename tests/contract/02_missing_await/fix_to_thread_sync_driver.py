"""A correct fix: the routes stay `async def` and run the synchronous driver in a thread with asyncio.to_thread."""

import asyncio
import os
import sqlite3
import uuid

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")

app = FastAPI(title="Order desk")


class NewOrder(BaseModel):
    product_id: int
    quantity: int


def save_order(order_id: str, order: NewOrder) -> None:
    conn = sqlite3.connect(DATABASE)
    try:
        with conn:
            conn.execute(
                "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
                (order_id, order.product_id, order.quantity),
            )
    finally:
        conn.close()


def fetch_order(order_id: str) -> tuple | None:
    conn = sqlite3.connect(DATABASE)
    try:
        return conn.execute("SELECT id, product_id, quantity FROM orders WHERE id = ?", (order_id,)).fetchone()
    finally:
        conn.close()


@app.post("/orders", status_code=201)
async def create_order(order: NewOrder):
    order_id = uuid.uuid4().hex
    await asyncio.to_thread(save_order, order_id, order)
    return {"id": order_id, "product_id": order.product_id, "quantity": order.quantity}


@app.get("/orders/{order_id}")
async def get_order(order_id: str):
    row = await asyncio.to_thread(fetch_order, order_id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    return {"id": row[0], "product_id": row[1], "quantity": row[2]}
