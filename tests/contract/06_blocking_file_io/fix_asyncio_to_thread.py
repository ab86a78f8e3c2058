"""A correct fix: asyncio.to_thread around pathlib's read_text."""

import asyncio
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
    try:
        text = await asyncio.to_thread((INVOICES / f"{number}.json").read_text, encoding="utf-8")
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    invoice = json.loads(text)
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
