import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def disk_usage():
    process = await asyncio.create_subprocess_exec("sleep", "0.2")
    code = await process.wait()
    return {"code": code}
