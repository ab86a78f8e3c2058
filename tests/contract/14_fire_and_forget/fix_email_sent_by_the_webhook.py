"""A correct fix without a task: the order's address is kept until its parcel is packed, and the
warehouse's call sends the email itself (logging a refusal), before it answers."""

import logging
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

MAIL_URL = os.environ.get("MAIL_URL", "http://mail.internal")

log = logging.getLogger("shop.shipping")
waiting: dict[str, str] = {}  # order id -> the customer's email address


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


@app.post("/orders", status_code=202)
async def place_order(order: Order):
    waiting[order.id] = order.email
    return {"id": order.id, "status": "waiting for the warehouse"}


@app.post("/warehouse/parcels/{order_id}/packed", status_code=204)
async def parcel_packed(order_id: str, parcel: Parcel, request: Request):
    email = waiting.pop(order_id, None)
    if email is None:
        return
    message = {"to": email, "subject": f"Order {order_id} is on its way", "text": f"Tracking number: {parcel.tracking}"}
    try:
        response = await request.app.state.mail.post("/messages", json=message)
        response.raise_for_status()
    except httpx.HTTPError:
        log.exception("order %s: the tracking email failed", order_id)
