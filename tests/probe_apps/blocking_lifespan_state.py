import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield {"settings": {"slow": 0.2}}


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def index(request: Request):
    time.sleep(request.state.settings["slow"])  # BLOCKS: io
    return {"ok": True}
