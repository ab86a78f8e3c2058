"""A wrong fix: a plain dictionary instead of the weak one keeps each task alive (its future
refers to it), but nothing ever looks at how the task ended."""

import asyncio
import logging
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")

log = logging.getLogger("shop.shipping")
# Order id -> the future its shipping notice waits on until the warehouse reports the parcel packed.
parcels: dict[str, asyncio.Future[str]] = {}


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
    asyncio.create_task(notify_when_packed(request.app.state.mail, order))
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    """The warehouse calls this once it has packed an order's parcel."""
    packed = parcels.pop(order_id, None)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
