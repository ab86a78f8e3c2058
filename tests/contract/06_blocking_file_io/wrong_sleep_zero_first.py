"""A wrong fix: `await asyncio.sleep(0)` before the blocking read, "to let /health through first"."""

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
    await asyncio.sleep(0)
    try:
        with open(INVOICES / f"{number}.json", encoding="utf-8") as file:
            invoice = json.load(file)
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
