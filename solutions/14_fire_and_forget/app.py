"""Kata 14 · fire_and_forget: shipping notices (reference solution)."""

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
        # Shutting down: stop waiting for parcels not packed yet, and let the emails already on
        # their way go out while the client is still open.
        for packed in list(parcels.values()):
            packed.cancel()
        await asyncio.gather(*app.state.notices, return_exceptions=True)


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
    # Why this works: the event loop keeps only a weak reference to a task, and this one waits
    # on a future that nothing else holds either, so the garbage collector could free it halfway.
    # The app's set of notices keeps each task alive until it is done; its done-callback lets go
    # of it and logs its failure with the order; the lifespan waits for the ones still running.
    notices: set[asyncio.Task] = request.app.state.notices
    notice = asyncio.create_task(notify_when_packed(request.app.state.mail, order), name=f"order {order.id}")
    notices.add(notice)
    notice.add_done_callback(notices.discard)
    notice.add_done_callback(log_failure)
    return {"id": order.id, "status": "waiting for the warehouse"}


def log_failure(notice: asyncio.Task) -> None:
    if not notice.cancelled() and notice.exception() is not None:
        log.error("%s: the tracking email failed", notice.get_name(), exc_info=notice.exception())


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    """The warehouse calls this once it has packed an order's parcel."""
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
