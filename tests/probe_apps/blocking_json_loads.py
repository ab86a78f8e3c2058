import json

from fastapi import FastAPI

app = FastAPI()
PAYLOAD = json.dumps([{"id": i, "name": f"item {i}", "price": i * 1.5} for i in range(200_000)])


@app.get("/")
async def count():
    items = json.loads(PAYLOAD)  # BLOCKS: cpu
    return {"count": len(items)}
