"""A wrong fix: read in small chunks and `await asyncio.sleep(0)` between them. Each read still blocks."""

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
    chunks = []
    try:
        with open(INVOICES / f"{number}.json", encoding="utf-8") as file:
            while chunk := file.read(256):
                chunks.append(chunk)
                await asyncio.sleep(0)
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    invoice = json.loads("".join(chunks))
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
