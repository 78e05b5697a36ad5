"""Durability against a real server: SIGKILL the uvicorn process, restart it on the same SQLite
file, and every acknowledged refund is still there; requests that got no answer can be resent
with their key and produce exactly one refund per key."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
from e2e_harness import (
    REQUEST_TIMEOUT,
    fire,
    list_refunds,
    make_invoice,
    post_outcome,
    trial_balance_violations,
)

SEQUENTIAL = 5
BURST_CLIENTS = 16
BURST_PER_CLIENT = 4
KILL_AFTER_ACKS = 8


def _body(number: str, key: str) -> dict:
    return {"invoice": number, "lines": [{"line": 1, "quantity": "1"}], "reason": "e2e durability",
            "metadata": {"key": key}}


def _assert_acknowledged_present(api, acknowledged) -> None:
    for o in acknowledged:
        r = api.get(f"/v1/refunds/{o.data['id']}")
        assert r.status_code == 200, f"acknowledged refund {o.data['id']} ({o.key}) is gone: {r.status_code}"
        assert r.json() == o.data, f"acknowledged refund {o.data['id']} changed after the restart"


def test_acknowledged_refunds_survive_sigkill(make_server):
    running = make_server()
    server = running.server
    api = running.api()
    number = make_invoice(api, [("P1", "50", "2.49", "15")], prefix="DUR")["number"]
    acknowledged = []
    with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT,
                      headers={"Authorization": f"Bearer {running.token}"}) as client:
        for i in range(SEQUENTIAL):
            o = post_outcome(client, f"dur-{i}-{uuid.uuid4().hex[:8]}", _body(number, f"dur-{i}"))
            assert o.status == 201, o.text
            acknowledged.append(o)
    api.close()
    pid = server.pid
    server.kill()  # right after the last 201: nothing gets a chance to flush
    server.start()
    assert server.pid != pid
    api = running.api()
    try:
        _assert_acknowledged_present(api, acknowledged)
        assert len(list_refunds(api, number)) == SEQUENTIAL
        invoice = api.ok(api.get(f"/v1/invoices/{number}"))
        assert Decimal(invoice["lines"][0]["refunded_quantity"]) == SEQUENTIAL
        assert trial_balance_violations(api) == []
        print(f"\n[durability] {SEQUENTIAL} acknowledged refunds, SIGKILL pid {pid}, restarted: all present")
    finally:
        api.close()


def test_sigkill_during_a_burst_then_resend_unanswered(make_server):
    running = make_server()
    server = running.server
    api = running.api()
    number = make_invoice(api, [("P1", "500", "1.99", "15")], prefix="BURST")["number"]
    api.close()
    plan = [[(f"burst-c{c}-a{a}-{uuid.uuid4().hex[:8]}", None) for a in range(BURST_PER_CLIENT)]
            for c in range(BURST_CLIENTS)]
    plan = [[(key, _body(number, key)) for key, _ in requests] for requests in plan]
    keys = [key for requests in plan for key, _ in requests]

    acks = []
    lock = threading.Lock()
    enough = threading.Event()

    def after_each(outcome):
        if outcome.status == 201:
            with lock:
                acks.append(outcome)
                if len(acks) >= KILL_AFTER_ACKS:
                    enough.set()

    killed_pid = server.pid
    with ThreadPoolExecutor(max_workers=1) as pool:
        burst = pool.submit(fire, server.base_url, running.token, plan, after_each=after_each, deadline_s=60)
        assert enough.wait(timeout=60), "the burst never got enough answers to kill mid-way"
        server.kill()
        outcomes = burst.result(timeout=120)

    acknowledged = [o for o in outcomes if o.status == 201]
    unanswered = [o for o in outcomes if o.status is None]
    other = [o for o in outcomes if o.status not in (None, 201)]
    assert not other, [(o.status, o.text[:200]) for o in other]
    assert unanswered, "the kill came after every request was answered: nothing was in flight"
    in_flight = [o for o in unanswered if "ConnectError" not in (o.error or "")]

    server.start()
    api = running.api()
    try:
        _assert_acknowledged_present(api, acknowledged)
        # resend each unanswered request with its own key and body
        resent = []
        with httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT,
                          headers={"Authorization": f"Bearer {running.token}"}) as client:
            for o in unanswered:
                again = post_outcome(client, o.key, o.body)
                assert again.status == 201, f"resend of {o.key}: {again.status} {again.text[:300]}"
                resent.append(again)
        committed_unanswered = [o for o in resent if o.replayed]
        # and a second resend of everything is a replay: nothing new
        again_all = fire(server.base_url, running.token,
                         [[(o.key, o.body) for o in outcomes[i::8]] for i in range(8)])
        assert all(o.status == 201 and o.replayed for o in again_all), \
            [(o.status, o.replayed, o.error) for o in again_all if not (o.status == 201 and o.replayed)]

        refunds = list_refunds(api, number)
        per_key = Counter(r["metadata"]["key"] for r in refunds)
        assert set(per_key) == set(keys), "some key has no refund, or a refund has an unknown key"
        assert max(per_key.values()) == 1, [k for k, n in per_key.items() if n > 1]
        by_key = {r["metadata"]["key"]: r for r in refunds}
        for o in acknowledged + resent:
            assert by_key[o.key]["id"] == o.data["id"]
        invoice = api.ok(api.get(f"/v1/invoices/{number}"))
        assert Decimal(invoice["lines"][0]["refunded_quantity"]) == len(keys)
        assert trial_balance_violations(api) == []
        print(f"\n[durability burst] {len(keys)} requests from {BURST_CLIENTS} clients; SIGKILL pid {killed_pid} "
              f"after {len(acknowledged)} acknowledged; unanswered {len(unanswered)} "
              f"({len(in_flight)} sent on a live connection, {len(unanswered) - len(in_flight)} refused to connect); "
              f"on resend {len(committed_unanswered)} were replays (committed before the kill, answer lost) "
              f"and {len(resent) - len(committed_unanswered)} were created; refunds now {len(refunds)}, "
              f"one per key")
    finally:
        api.close()
