"""Kata 06 · blocking_file_io: the invoice service.

Goal: keep answering the load balancer's /health checks while invoices are downloaded. Today
every invoice read holds up the whole event loop, because the files live on a slow network
share. Read README.md for the whole story.
"""

import json
import os
from pathlib import Path

from fastapi import FastAPI, HTTPException

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"

app = FastAPI(title="Invoices")


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    # TODO: this route is `async def`, but reading the file below blocks: the invoices live on
    # a network share, and while a read waits for it (about 300 ms) the whole event loop waits
    # with it. Not even /health can answer.
    try:
        with open(INVOICES / f"{number}.json", encoding="utf-8") as file:
            invoice = json.load(file)
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
