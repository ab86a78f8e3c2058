import time

from fastapi import Depends, FastAPI

app = FastAPI()


async def session():
    time.sleep(0.2)  # BLOCKS: io
    try:
        yield {"id": 1}
    finally:
        pass


@app.get("/")
async def index(db: dict = Depends(session)):
    return db
