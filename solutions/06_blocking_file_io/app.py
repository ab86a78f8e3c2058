"""Kata 06 · blocking_file_io: the invoice service (reference solution)."""

import json
import os

import anyio
from fastapi import FastAPI, HTTPException

INVOICES = anyio.Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"

app = FastAPI(title="Invoices")


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    # Why this works: anyio.Path does each file operation in a worker thread and awaits it, so
    # while a read waits on the network share, the event loop is free to answer /health and
    # every other request.
    try:
        text = await (INVOICES / f"{number}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    invoice = json.loads(text)
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
