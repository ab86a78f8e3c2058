import sqlite3

from fastapi import FastAPI

app = FastAPI()
QUERY = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000)
SELECT sum(x) FROM c
"""


@app.get("/")
async def stats():
    conn = sqlite3.connect(":memory:")
    try:
        (total,) = conn.execute(QUERY).fetchone()  # BLOCKS: cpu
    finally:
        conn.close()
    return {"total": total}
