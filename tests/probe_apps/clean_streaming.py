import asyncio

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


async def rows():
    for i in range(3):
        await asyncio.sleep(0.05)
        yield f"row {i}\n"


@app.get("/")
async def export():
    return StreamingResponse(rows(), media_type="text/plain")
