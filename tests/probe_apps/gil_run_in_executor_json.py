import asyncio
import json

from fastapi import FastAPI

app = FastAPI()
CATALOGUE = [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(50_000)]


@app.get("/")
async def export():
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, json.dumps, CATALOGUE)  # BLOCKS: gil
    return {"bytes": len(body)}
