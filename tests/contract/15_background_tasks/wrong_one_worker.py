"""Emails queued for one worker after the answer: each shopper's email waits for every email before it."""

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
        app.state.outbox = asyncio.Queue()
        worker = asyncio.create_task(mail_worker(client, app.state.outbox))
        yield
        await app.state.outbox.join()
        worker.cancel()


async def mail_worker(client: httpx.AsyncClient, outbox: asyncio.Queue) -> None:
    while True:
        to, order_id = await outbox.get()
        try:
            await send_confirmation(client, to, order_id)
        except Exception:
            pass
        finally:
            outbox.task_done()


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
    request.app.state.outbox.put_nowait((order.email, order_id))
    return {"order_id": order_id, "status": "placed"}
