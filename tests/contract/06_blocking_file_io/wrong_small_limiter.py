"""A wrong fix: the read runs in a thread, but a private limiter lets only two reads wait on the share at once."""

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"
SHARE_READERS = 2


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.share_readers = anyio.CapacityLimiter(SHARE_READERS)
    yield


app = FastAPI(title="Invoices", lifespan=lifespan)


def read_invoice(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str, request: Request):
    limiter = request.app.state.share_readers
    try:
        invoice = await anyio.to_thread.run_sync(read_invoice, INVOICES / f"{number}.json", limiter=limiter)
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
