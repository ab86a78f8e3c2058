from fastapi import FastAPI

app = FastAPI()


def score(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7  # BLOCKS: cpu
    return total


@app.get("/")
async def leaderboard():
    return {"score": score(2_000_000)}
