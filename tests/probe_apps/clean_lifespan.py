import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


@asynccontextmanager
async def lifespan(app: FastAPI):
    queue: asyncio.Queue = asyncio.Queue()
    for job in range(1000):
        queue.put_nowait(job)
    yield {"queue": queue}


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def next_job(request: Request):
    job = await request.state.queue.get()
    await asyncio.sleep(0.1)
    return {"job": job}
