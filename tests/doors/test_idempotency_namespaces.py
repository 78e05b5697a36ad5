"""A client's Idempotency-Key cannot reach a door's natural-key namespace (issue 10, "Security at
the edges"): a native key spelled like BeansBooks' key for a sale (``beansbooks:id:<sale>``) or
Internom's for a reference no longer blocks (or replays) that door's real refund."""

from __future__ import annotations

from salesrefund.service.idempotency import MAX_KEY_LENGTH, client_key
from test_beansbooks import make_beans, sale_of
from test_internom import example, make_shop


def test_a_native_key_spelled_like_beansbooks_sale_key_does_not_block_its_refund(engine, clock, api_for):
    beans = make_beans(engine, clock, api_for)
    native = beans["api"].post("/v1/refunds", {"invoice": "1", "lines": [{"line": 99, "quantity": "1"}]},
                               key="beansbooks:id:1")
    assert native.status_code == 422, native.text  # a rejection, stored under the native key (R17)
    sale = sale_of(beans["post"]())  # before: "That sale already belongs to a refund-set."
    assert sale["refund_sale_id"] == 1
    again = beans["api"].post("/v1/refunds", {"invoice": "1", "lines": [{"line": 99, "quantity": "1"}]},
                              key="beansbooks:id:1")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == native.json()


def test_a_native_key_spelled_like_internoms_reference_key_does_not_block_its_refund(engine, clock, api_for):
    shop = make_shop(engine, clock, api_for)
    native = shop["api"].post("/v1/refunds", {"invoice": "NOPE", "lines": [{"line": 1, "quantity": "1"}]},
                              key="internom:reference:REF-NS-1")
    assert native.status_code in (404, 422), native.text
    response = shop["post"](example(reference="REF-NS-1", reference_id="REF-NS-1-ID"))
    assert response.status_code == 200, response.text


def test_client_keys_map_one_to_one_and_fit_the_column():
    assert client_key("order-17") == "order-17"  # ordinary keys are stored as sent (no change on upgrade)
    assert client_key("beansbooks:id:1") == "client:beansbooks:id:1"
    assert client_key("client:beansbooks:id:1") == "client:client:beansbooks:id:1"
    assert client_key("app:x") == "client:app:x"
    long = "vodo:" + "x" * (MAX_KEY_LENGTH - 5)
    assert len(client_key(long)) <= MAX_KEY_LENGTH and client_key(long) != client_key(long[:-1] + "y")
    assert client_key(None) is None
