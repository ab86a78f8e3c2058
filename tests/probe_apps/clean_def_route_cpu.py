from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def leaderboard():
    total = 0
    for i in range(1_000_000):
        total += i * i % 7
    return {"score": total}
