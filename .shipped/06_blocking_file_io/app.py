"""Kata 06 · blocking_file_io: the invoice service.

Goal: keep answering the load balancer's /health checks while invoices are downloaded. Today,
while a few invoices are being downloaded, /health takes up to a second to answer, though the
CPU is idle. Read README.md for the whole story.
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
    # TODO: while a few invoices are downloaded here, even /health, which does nothing at all,
    # takes up to a second to answer. Why?
    try:
        with open(INVOICES / f"{number}.json", encoding="utf-8") as file:
            invoice = json.load(file)
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
