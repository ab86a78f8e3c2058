"""A wrong fix: anyio.Path, but an invoice that `is_file()` does not call a file is answered 404."""

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
    path = INVOICES / f"{number}.json"
    if not await path.is_file():
        raise HTTPException(status_code=404, detail="no such invoice")
    invoice = json.loads(await path.read_text(encoding="utf-8"))
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
