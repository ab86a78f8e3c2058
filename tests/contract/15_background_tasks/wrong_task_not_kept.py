"""A wrong fix: the email in an asyncio task that nobody keeps or waits for: when the shop stops, an email on its way is cut off."""

import asyncio
import os
import uuid
from contextlib import asynccontextmanager

import aiosqlite
import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")


class Order(BaseModel):
    email: str
    product_id: int
    quantity: int


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=MAIL_URL, timeout=5.0) as client:
        app.state.mail = client
        yield


app = FastAPI(title="Checkout", lifespan=lifespan)


async def store_order(order_id: str, order: Order) -> None:
    async with aiosqlite.connect(DATABASE) as db:
        await db.execute(
            "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
            (order_id, order.product_id, order.quantity),
        )
        await db.commit()


async def send_confirmation(mail: httpx.AsyncClient, to: str, order_id: str) -> None:
    message = {"to": to, "subject": f"Your order {order_id}", "text": "Thank you! Your order is on its way."}
    response = await mail.post("/messages", json=message)
    response.raise_for_status()


@app.post("/orders", status_code=201)
async def place_order(order: Order, request: Request):
    order_id = uuid.uuid4().hex[:12]
    await store_order(order_id, order)
    asyncio.create_task(send_confirmation(request.app.state.mail, order.email, order_id))
    return {"order_id": order_id, "status": "placed"}
