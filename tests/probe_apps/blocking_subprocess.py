import subprocess

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def disk_usage():
    result = subprocess.run(  # BLOCKS: io
        ["sleep", "0.2"],
        capture_output=True,
        check=True,
    )
    return {"code": result.returncode}
