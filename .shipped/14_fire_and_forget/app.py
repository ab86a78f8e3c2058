"""Kata 14 · fire_and_forget: shipping notices.

Goal: every customer whose parcel is packed gets an email with its tracking number, and an email
the mail service refuses shows up in the shop's log, with its order. Today some customers never
get their email, the refused ones leave no trace, and a deploy cuts off the emails on their way.
Read README.md for the whole story.
"""

import asyncio
import logging
import os
import weakref
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")

log = logging.getLogger("shop.shipping")
# Order id -> the future its shipping notice waits on until the warehouse reports the parcel
# packed. Weak values: a future nobody waits on any more leaves the dictionary by itself.
parcels: weakref.WeakValueDictionary[str, asyncio.Future[str]] = weakref.WeakValueDictionary()


class Order(BaseModel):
    id: str
    email: str


class Parcel(BaseModel):
    tracking: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    # TODO: when the shop shuts down (every deploy), an email on its way is cut off. Why?
    async with httpx.AsyncClient(base_url=MAIL_URL, timeout=5.0) as client:
        app.state.mail = client
        yield


app = FastAPI(title="Shipping notices", lifespan=lifespan)


async def notify_when_packed(mail: httpx.AsyncClient, order: Order) -> None:
    """Wait until the warehouse has packed the order, then email the customer its tracking number."""
    packed = asyncio.get_running_loop().create_future()
    parcels[order.id] = packed
    tracking = await packed
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": f"Tracking number: {tracking}"}
    response = await mail.post("/messages", json=message)
    response.raise_for_status()
    log.info("order %s: tracking email sent", order.id)


@app.post("/orders", status_code=202)
async def place_order(order: Order, request: Request):
    # TODO: some customers never get their tracking email, though the warehouse packed their
    # parcel; and when the mail service refuses an email, the log never says. Why?
    asyncio.create_task(notify_when_packed(request.app.state.mail, order))
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    """The warehouse calls this once it has packed an order's parcel."""
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
