"""A wrong fix: the read is submitted to a thread pool, and the route waits for the future's result."""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"


@asynccontextmanager
async def lifespan(app: FastAPI):
    with ThreadPoolExecutor(max_workers=8) as pool:
        app.state.pool = pool
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
    try:
        invoice = request.app.state.pool.submit(read_invoice, INVOICES / f"{number}.json").result()
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
