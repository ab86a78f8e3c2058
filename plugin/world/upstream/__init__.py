"""Upstream HTTP services of the kata world: real uvicorn servers on 127.0.0.1 that count what they see."""

from fastapi_async_katas.engine.loopback import HOST
from fastapi_async_katas.world.upstream.calls import Call, Reply, UpstreamRequest
from fastapi_async_katas.world.upstream.catalog import CATALOG_ENV_VAR, Catalog, Product
from fastapi_async_katas.world.upstream.service import DEFAULT_LATENCY_S, Upstream

__all__ = ["CATALOG_ENV_VAR", "DEFAULT_LATENCY_S", "HOST", "Call", "Catalog", "Product", "Reply", "Upstream", "UpstreamRequest"]
