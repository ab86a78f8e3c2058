from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def total():
    return {
        "total": sum(range(20_000_000)),  # BLOCKS: cpu
    }
