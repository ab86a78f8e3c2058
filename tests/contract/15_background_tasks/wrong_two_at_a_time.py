"""Emails sent after the answer, in worker threads, but at most two at a time: the third and
fourth shoppers' emails wait for the first two."""

import os
import threading
import uuid
from contextlib import asynccontextmanager

import aiosqlite
import httpx
from fastapi import BackgroundTasks, FastAPI
from pydantic import BaseModel

DATABASE = os.environ.get("SHOP_DATABASE", "shop.db")
MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")
# Not to flood the mail service.
sending = threading.Semaphore(2)


class Order(BaseModel):
    email: str
    product_id: int
    quantity: int


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield


app = FastAPI(title="Checkout", lifespan=lifespan)


async def store_order(order_id: str, order: Order) -> None:
    async with aiosqlite.connect(DATABASE) as db:
        await db.execute(
            "INSERT INTO orders (id, product_id, quantity) VALUES (?, ?, ?)",
            (order_id, order.product_id, order.quantity),
        )
        await db.commit()


def send_confirmation(to: str, order_id: str) -> None:
    message = {"to": to, "subject": f"Your order {order_id}", "text": "Thank you! Your order is on its way."}
    with sending:
        response = httpx.post(f"{MAIL_URL}/messages", json=message, timeout=5.0)
    response.raise_for_status()


@app.post("/orders", status_code=201)
async def place_order(order: Order, background_tasks: BackgroundTasks):
    order_id = uuid.uuid4().hex[:12]
    await store_order(order_id, order)
    background_tasks.add_task(send_confirmation, order.email, order_id)
    return {"order_id": order_id, "status": "placed"}
