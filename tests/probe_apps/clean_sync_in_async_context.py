import asyncio
import json

from fastapi import FastAPI

app = FastAPI()
SETTINGS = json.dumps({"region": "eu", "retries": 3})


@app.get("/")
async def settings():
    await asyncio.sleep(0.05)
    parsed = json.loads(SETTINGS)
    await asyncio.sleep(0.05)
    return parsed
