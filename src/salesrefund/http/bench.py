"""A validated echo route for the benchmarks' HTTP floor (``bench/``), mounted only when
``SALESREFUND_BENCH_ECHO=1``; never part of the API a deployment serves.

``POST /bench/echo`` validates a body shaped like a refund request with a strict pydantic model
and answers it back: the same app, middleware, server and workers as a refund, without
authentication and without the database. What a refund costs beyond this is the refund path.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field

ENV_BENCH_ECHO = "SALESREFUND_BENCH_ECHO"


class EchoLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int = Field(ge=1, le=10_000)
    quantity: str = Field(max_length=32)


class EchoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice: str = Field(max_length=64)
    lines: list[EchoLine] = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=500)


router = APIRouter(prefix="/bench", tags=["benchmark"], include_in_schema=False)


@router.post("/echo")
def echo(body: EchoIn) -> EchoIn:  # a plain ``def``, like the refund routes: it runs in the threadpool
    return body


def install(app: FastAPI) -> None:
    """Mount the echo route when the benchmark asks for it."""
    if os.environ.get(ENV_BENCH_ECHO) == "1":
        app.include_router(router)
