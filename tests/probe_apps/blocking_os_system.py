import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def backup():
    code = os.system("sleep 0.2")  # BLOCKS: io
    return {"code": code}
