from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def histogram():
    buckets = [  # BLOCKS: cpu
        i * i % 7 for i in range(2_500_000)
    ]
    return {"buckets": len(buckets)}
