import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def report():
    time.sleep(0.2)
    return {"status": "ready"}
