import queue

from fastapi import FastAPI

app = FastAPI()
jobs: queue.Queue = queue.Queue()


@app.get("/")
async def next_job():
    try:
        job = jobs.get(timeout=0.2)  # BLOCKS: io
    except queue.Empty:
        job = None
    return {"job": job}
