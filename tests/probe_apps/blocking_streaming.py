import time

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


async def rows():
    for i in range(2):
        time.sleep(0.1)  # BLOCKS: io
        yield f"row {i}\n"


@app.get("/")
async def export():
    return StreamingResponse(rows(), media_type="text/plain")
