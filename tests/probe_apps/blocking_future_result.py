import time
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

app = FastAPI()
pool = ThreadPoolExecutor(max_workers=4)


def fetch_rates() -> dict:
    time.sleep(0.2)
    return {"EUR": 1.0, "USD": 1.1}


@app.get("/")
async def rates():
    future = pool.submit(fetch_rates)
    return future.result()  # BLOCKS: io
