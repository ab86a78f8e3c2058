import aiosqlite
from fastapi import FastAPI

app = FastAPI()
QUERY = """
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
SELECT sum(x) FROM c
"""


@app.get("/")
async def stats():
    async with aiosqlite.connect(":memory:") as conn:
        cursor = await conn.execute(QUERY)
        (total,) = await cursor.fetchone()
    return {"total": total}
