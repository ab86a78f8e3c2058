"""A wrong fix: load every invoice into memory at startup, then serve from there. New invoices
are never seen, and the requests no longer read the storage at all."""

import json
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"
loaded: dict[str, dict] = {}


@asynccontextmanager
async def lifespan(app: FastAPI):
    if INVOICES.exists():
        for path in INVOICES.glob("*.json"):
            with open(path, encoding="utf-8") as file:
                loaded[path.stem] = json.load(file)
    yield


app = FastAPI(title="Invoices", lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    if number not in loaded:
        raise HTTPException(status_code=404, detail="no such invoice")
    invoice = loaded[number]
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
