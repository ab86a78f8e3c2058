import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def report():
    time.sleep(0.2)  # BLOCKS: io
    return {"status": "ready"}
