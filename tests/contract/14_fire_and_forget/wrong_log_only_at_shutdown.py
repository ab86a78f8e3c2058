"""Failed tasks kept, and their errors logged only as the shop shuts down, not as the email fails."""

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
        for packed in list(parcels.values()):
            if not packed.done():
                packed.cancel()
        for task in list(app.state.notices):
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("%s: tracking email failed", task.get_name())


app = FastAPI(title="Shipping notices", lifespan=lifespan)


async def notify_when_packed(mail: httpx.AsyncClient, order: Order) -> None:
    packed = asyncio.get_running_loop().create_future()
    parcels[order.id] = packed
    tracking = await packed
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": f"Tracking number: {tracking}"}
    response = await mail.post("/messages", json=message)
    response.raise_for_status()
    log.info("order %s: tracking email sent", order.id)


def _log_failure(task: asyncio.Task) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("%s: tracking email failed", task.get_name(), exc_info=exc)


@app.post("/orders", status_code=202)
async def place_order(order: Order, request: Request):
    notices: set = request.app.state.notices
    task = asyncio.create_task(notify_when_packed(request.app.state.mail, order), name=f"order {order.id}")
    notices.add(task)
    task.add_done_callback(lambda t: t.cancelled() or t.exception() is not None or notices.discard(t))
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
