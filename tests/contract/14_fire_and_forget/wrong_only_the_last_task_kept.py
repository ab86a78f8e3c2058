"""A wrong fix: the app keeps a reference to its notice, but in one place only, so each order's
notice replaces the one before: while two orders wait for their parcels, the first one's task is
held by nothing, and the garbage collector frees it."""

import asyncio
import logging
import os
import weakref
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")
SHUTDOWN_GRACE_S = 5.0

log = logging.getLogger("shop.shipping")
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
        app.state.notice = None
        yield
        notice = app.state.notice
        if notice is not None:
            _, late = await asyncio.wait([notice], timeout=SHUTDOWN_GRACE_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)


app = FastAPI(title="Shipping notices", lifespan=lifespan)


async def notify_when_packed(mail: httpx.AsyncClient, order: Order) -> None:
    packed = asyncio.get_running_loop().create_future()
    parcels[order.id] = packed
    tracking = await packed
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": f"Tracking number: {tracking}"}
    response = await mail.post("/messages", json=message)
    response.raise_for_status()
    log.info("order %s: tracking email sent", order.id)


def notice_done(app: FastAPI, order_id: str, notice: asyncio.Task) -> None:
    if app.state.notice is notice:
        app.state.notice = None
    if not notice.cancelled() and notice.exception() is not None:
        log.error("order %s: the tracking email failed: %r", order_id, notice.exception())


@app.post("/orders", status_code=202)
async def place_order(order: Order, request: Request):
    # Kept, so that it is not garbage collected.
    notice = request.app.state.notice = asyncio.create_task(notify_when_packed(request.app.state.mail, order))
    notice.add_done_callback(lambda task: notice_done(request.app, order.id, task))
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
