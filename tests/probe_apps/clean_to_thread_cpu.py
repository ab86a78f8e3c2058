import asyncio

from fastapi import FastAPI

app = FastAPI()


def score(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


@app.get("/")
async def leaderboard():
    return {"score": await asyncio.to_thread(score, 1_000_000)}
