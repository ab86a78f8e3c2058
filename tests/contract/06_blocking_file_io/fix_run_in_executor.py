"""A correct fix: keep the reading code, and run it in the loop's default executor."""

import asyncio
import json
import os
from pathlib import Path

from fastapi import FastAPI, HTTPException

INVOICES = Path(os.environ.get("SHOP_STORAGE", "storage")) / "invoices"

app = FastAPI(title="Invoices")


def read_invoice(path: Path) -> dict:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/invoices/{number}")
async def get_invoice(number: str):
    loop = asyncio.get_running_loop()
    try:
        invoice = await loop.run_in_executor(None, read_invoice, INVOICES / f"{number}.json")
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="no such invoice")
    total = sum(line["quantity"] * line["price"] for line in invoice["lines"])
    return {**invoice, "total": round(total, 2)}
