"""A wrong fix: the task is kept, and its error caught so that it cannot be lost, but caught
silently: the log still never says."""

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
        app.state.notices = set()
        yield
        await asyncio.gather(*app.state.notices)


app = FastAPI(title="Shipping notices", lifespan=lifespan)


async def notify_when_packed(mail: httpx.AsyncClient, order: Order) -> None:
    """Wait until the warehouse has packed the order, then email the customer its tracking number."""
    packed = asyncio.get_running_loop().create_future()
    parcels[order.id] = packed
    tracking = await packed
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": f"Tracking number: {tracking}"}
    try:
        response = await mail.post("/messages", json=message)
        response.raise_for_status()
    except httpx.HTTPError:
        return
    log.info("order %s: tracking email sent", order.id)


@app.post("/orders", status_code=202)
async def place_order(order: Order, request: Request):
    notice = asyncio.create_task(notify_when_packed(request.app.state.mail, order))
    request.app.state.notices.add(notice)
    notice.add_done_callback(request.app.state.notices.discard)
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    """The warehouse calls this once it has packed an order's parcel."""
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
