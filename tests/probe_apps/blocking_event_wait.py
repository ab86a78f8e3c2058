import threading

from fastapi import FastAPI

app = FastAPI()
ready = threading.Event()


@app.get("/")
async def wait_for_warmup():
    warmed = ready.wait(timeout=0.2)  # BLOCKS: io
    return {"warmed": warmed}
