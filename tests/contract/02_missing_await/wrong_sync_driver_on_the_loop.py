"""A wrong fix: drop aiosqlite for the synchronous driver, called straight from the `async def` routes."""

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


@app.post("/orders", status_code=201)
async def create_order(order: NewOrder):
    order_id = uuid.uuid4().hex
    with sqlite3.connect(DATABASE) as conn:
        conn.execute(
            "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
            (order_id, order.product_id, order.quantity),
        )
    return {"id": order_id, "product_id": order.product_id, "quantity": order.quantity}


@app.get("/orders/{order_id}")
async def get_order(order_id: str):
    with sqlite3.connect(DATABASE) as conn:
        row = conn.execute("SELECT id, product_id, quantity FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such order")
    return {"id": row[0], "product_id": row[1], "quantity": row[2]}
