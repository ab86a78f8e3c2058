import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def report():
    await asyncio.sleep(0.2)
    return {"status": "ready"}
