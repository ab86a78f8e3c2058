import asyncio

from fastapi import FastAPI

app = FastAPI()


async def fetch(source: str) -> str:
    await asyncio.sleep(0.1)
    return source


@app.get("/")
async def dashboard():
    results = await asyncio.gather(*(fetch(s) for s in ("orders", "stock", "users", "prices")))
    return {"sources": results}
