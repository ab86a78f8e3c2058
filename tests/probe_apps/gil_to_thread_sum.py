import asyncio

from fastapi import FastAPI

app = FastAPI()


def total(n: int) -> int:
    return sum(range(n))  # one C call that keeps the GIL until it returns


@app.get("/")
async def leaderboard():
    return {"total": await asyncio.to_thread(total, 20_000_000)}  # BLOCKS: gil
