"""A correct fix: FastAPI's BackgroundTasks runs the notice in the request, after the answer, and
keeps it until it is done; the notice logs its own failure."""

import asyncio
import logging
import os
import weakref
from contextlib import asynccontextmanager

import httpx
from fastapi import BackgroundTasks, FastAPI, Request
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
        yield


app = FastAPI(title="Shipping notices", lifespan=lifespan)


async def notify_when_packed(mail: httpx.AsyncClient, order: Order) -> None:
    packed = asyncio.get_running_loop().create_future()
    parcels[order.id] = packed
    tracking = await packed
    message = {"to": order.email, "subject": f"Order {order.id} is on its way", "text": f"Tracking number: {tracking}"}
    try:
        response = await mail.post("/messages", json=message)
        response.raise_for_status()
    except httpx.HTTPError:
        log.exception("order %s: the tracking email failed", order.id)
        return
    log.info("order %s: tracking email sent", order.id)


@app.post("/orders", status_code=202)
async def place_order(order: Order, request: Request, background_tasks: BackgroundTasks):
    background_tasks.add_task(notify_when_packed, request.app.state.mail, order)
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel):
    packed = parcels.get(order_id)
    if packed is not None and not packed.done():
        packed.set_result(parcel.tracking)
