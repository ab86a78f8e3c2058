import time

from fastapi import Depends, FastAPI

app = FastAPI()


async def current_user() -> str:
    time.sleep(0.2)  # BLOCKS: io
    return "foo"


@app.get("/")
async def profile(user: str = Depends(current_user)):
    return {"user": user}
