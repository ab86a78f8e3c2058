import asyncio

from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def audit(request: Request, call_next):
    await asyncio.sleep(0.05)
    response = await call_next(request)
    response.headers["x-audited"] = "yes"
    return response


@app.get("/")
async def index():
    await asyncio.sleep(0.1)
    return {"hello": "world"}
