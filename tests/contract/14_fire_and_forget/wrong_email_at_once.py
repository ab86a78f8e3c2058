"""A wrong fix: no waiting, no task: the email goes out with the order, before there is a
tracking number to give."""

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
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": "Tracking number: to follow"}
    await request.app.state.mail.post("/messages", json=message)
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    """The warehouse calls this once it has packed an order's parcel."""
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
