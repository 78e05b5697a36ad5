"""R17 against a real server: one Idempotency-Key fired by many clients at once creates exactly
one refund, and every answer is the original, a replay of it, or 409 idempotency_key_in_use."""

from __future__ import annotations

import uuid
from decimal import Decimal

from e2e_harness import fire, list_refunds, make_invoice, trial_balance_violations

CLIENTS = 24
ROUNDS = 3


def _check_same_key_burst(api, number: str, outcomes) -> dict:
    """The checks of a same-key burst; returns the counts of each kind of answer."""
    created = [o for o in outcomes if o.status == 201]
    busy = [o for o in outcomes if o.status == 409]
    reused = [o for o in outcomes if o.status == 422]
    others = [o for o in outcomes if o.status not in (201, 409, 422)]
    assert not others, [(o.status, o.error, o.text[:200]) for o in others]
    for o in busy:
        assert o.code == "idempotency_key_in_use", o.text
        assert o.retry_after is not None, "409 idempotency_key_in_use without Retry-After"
    originals = [o for o in created if not o.replayed]
    assert len(originals) == 1, f"{len(originals)} non-replayed 201 answers"
    assert len({o.text for o in created}) == 1, "the 201 bodies differ"
    winner = originals[0]
    for o in created:
        assert o.body == winner.body, "a 201 was given to a request other than the one that created the refund"
    for o in reused:
        assert o.code == "idempotency_key_reused", o.text
        assert o.body != winner.body, "the winning request itself got idempotency_key_reused"
    refunds = list_refunds(api, number)
    assert len(refunds) == 1, f"{len(refunds)} refunds exist for one Idempotency-Key"
    assert refunds[0]["id"] == winner.data["id"]
    invoice = api.ok(api.get(f"/v1/invoices/{number}"))
    won_quantity = Decimal(winner.body["lines"][0]["quantity"])
    assert Decimal(invoice["lines"][0]["refunded_quantity"]) == won_quantity
    assert trial_balance_violations(api) == []
    return {"201": len(created), "replays": len(created) - 1, "409": len(busy), "422_reused": len(reused)}


def test_same_key_from_many_clients_creates_one_refund(guarded_server):
    api = guarded_server.api()
    try:
        totals = {"201": 0, "replays": 0, "409": 0, "422_reused": 0}
        for _ in range(ROUNDS):
            number = make_invoice(api, [("P1", "10", "4.99", "15")], prefix="ONCE")["number"]
            key = f"once-{uuid.uuid4().hex}"
            body = {"invoice": number, "lines": [{"line": 1, "quantity": "2"}], "metadata": {"key": key}}
            outcomes = fire(guarded_server.server.base_url, guarded_server.token,
                            [[(key, body)] for _ in range(CLIENTS)])
            assert all(o.status in (201, 409) for o in outcomes), [(o.status, o.error) for o in outcomes]
            counts = _check_same_key_burst(api, number, outcomes)
            for k, v in counts.items():
                totals[k] += v
            # afterwards, every retry is a replay of the very same response
            again = fire(guarded_server.server.base_url, guarded_server.token,
                         [[(key, body)] for _ in range(8)])
            first_text = next(o.text for o in outcomes if o.status == 201)
            assert all(o.status == 201 and o.replayed and o.text == first_text for o in again)
            assert len(list_refunds(api, number)) == 1
        print(f"\n[exactly-once] workers={guarded_server.server.workers}: {ROUNDS} rounds x {CLIENTS} clients, "
              f"one key each: {totals}")
    finally:
        api.close()


def test_same_key_with_two_different_bodies(guarded_server):
    """Half the clients send one body, half another, same key: one of them wins, the others get
    its replay (same body) or 422 idempotency_key_reused (other body) or 409; one refund exists."""
    api = guarded_server.api()
    try:
        number = make_invoice(api, [("P1", "10", "4.99", "15")], prefix="REUSE")["number"]
        key = f"reuse-{uuid.uuid4().hex}"
        a = {"invoice": number, "lines": [{"line": 1, "quantity": "2"}], "metadata": {"key": key}}
        b = {"invoice": number, "lines": [{"line": 1, "quantity": "3"}], "metadata": {"key": key}}
        outcomes = fire(guarded_server.server.base_url, guarded_server.token,
                        [[(key, a if i % 2 else b)] for i in range(CLIENTS)])
        counts = _check_same_key_burst(api, number, outcomes)
        print(f"\n[key reuse] workers={guarded_server.server.workers}: {CLIENTS} clients, two bodies: {counts}")
    finally:
        api.close()
