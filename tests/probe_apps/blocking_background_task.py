import time

from fastapi import BackgroundTasks, FastAPI

app = FastAPI()


async def send_receipt(email: str) -> None:
    time.sleep(0.2)  # BLOCKS: io


@app.get("/")
async def checkout(tasks: BackgroundTasks):
    tasks.add_task(send_receipt, "foo@example.com")
    return {"ok": True}
