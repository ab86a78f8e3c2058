"""For self-tests that check a failure's words: on a machine too busy to judge, a failure that a
busy machine alone could cause is "inconclusive", with the same explanation below its first line."""

from __future__ import annotations

from fastapi_async_katas.engine.judging import KataFailure


def explanation(failure: KataFailure) -> str:
    """The failure's explanation, without the "inconclusive" line a busy machine puts above it."""
    text = str(failure)
    if text.startswith("inconclusive: "):
        return text.split("\n\n", 1)[1]
    return text
