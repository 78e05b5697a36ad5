"""Refunds in process: the refund service called without HTTP (``fixtures.InProcess``), from the
same client structure as the server (processes with threads sharing one engine per process)."""

from __future__ import annotations

import random
import time

from salesrefund.store.engine import make_engine

from . import fixtures


def process_setup(args: dict) -> dict:
    engine = make_engine(args["url"])
    fixture = fixtures.Fixture.from_json(args["fixture"])
    return {"engine": engine, "runner": fixtures.InProcess(engine, fixture), "fixture": fixture, "args": args}


def process_teardown(state: dict) -> None:
    state["engine"].dispose()


def thread_setup(state: dict, client_no: int):
    fixture, runner, run_id = state["fixture"], state["runner"], state["args"]["run_id"]
    invoices = state["args"].get("invoices") or fixture.invoices
    rng = random.Random(client_no * 7919 + int(time.time()))
    position = [client_no * 7]

    def one(n: int) -> bool:
        position[0] += 1
        body = fixtures.refund_body(invoices[position[0] % len(invoices)], rng)
        response = runner.refund(body, f"inproc-{run_id}-{client_no}-{n}")
        if response.status != 201:
            raise RuntimeError(f"{response.status}: {response.body[:200]}")
        return True

    return one
