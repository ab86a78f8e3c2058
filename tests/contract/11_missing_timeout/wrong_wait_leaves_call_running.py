"""A wrong fix: the call runs as a task, the route waits for it 0.3 s and answers 504, but the task goes on waiting."""

import asyncio
import os
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, HTTPException, Request

DELIVERY_URL = os.environ.get("DELIVERY_URL", "http://delivery.internal")


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with httpx.AsyncClient(base_url=DELIVERY_URL, timeout=None) as client:
        app.state.delivery = client
        yield


app = FastAPI(title="Delivery estimates", lifespan=lifespan)


@app.get("/products/{product_id}/delivery")
async def delivery_estimate(product_id: int, request: Request):
    delivery = request.app.state.delivery
    call = asyncio.ensure_future(delivery.get(f"/estimates/{product_id}"))
    done, _ = await asyncio.wait({call}, timeout=0.3)
    if not done:
        raise HTTPException(status_code=504, detail="the delivery service did not answer in time")
    response = call.result()
    if response.status_code == 404:
        raise HTTPException(status_code=404, detail="no such product")
    response.raise_for_status()
    return {"id": product_id, "days": response.json()["days"]}
