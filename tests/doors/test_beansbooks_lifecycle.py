"""The BeansBooks door's lookup and cancel of a refund (issue 13): ``POST /api/customer/sale/lookup``
and ``POST /api/customer/sale/cancel`` (BeansBooks' Customer_Sale_Lookup and Customer_Sale_Cancel),
body ``{auth_..., "id": <the refund sale's id as the refund answer gives it>}``."""

from __future__ import annotations

import json
import uuid

import pytest

from salesrefund.seeds import beansbooks as seed
from salesrefund.service.doors import create_door_credential

from test_beansbooks import failed, make_beans, refunds, sale_of

LOOKUP, CANCEL = "/api/customer/sale/lookup", "/api/customer/sale/cancel"


@pytest.fixture
def beans(engine, clock, api_for):
    return make_beans(engine, clock, api_for)


def ask(beans, path: str, refund_id, **extra):
    body = {"auth_uid": beans["uid"], "auth_key": beans["key"], "auth_expiration": 1700000000, "id": refund_id, **extra}
    return beans["post"](body, path=path)


def test_lookup_answers_the_refund_answer_exactly(beans):
    made = sale_of(beans["post"](beans["body"](sale_number="BB-77", po_number="PO-1",
                                               lines=[{"description": "Coffee beans, 1 kg", "amount": "-49.99",
                                                       "quantity": 1, "account_id": 9}])))
    assert made["id"] == 2026000001 and made["sale_number"] == "BB-77"
    for path in (LOOKUP, "/API/Customer/Sale/Lookup", "/api/customer/sale/LOOKUP"):
        assert sale_of(ask(beans, path, made["id"])) == made


def test_lookup_of_a_missing_id_an_original_sale_or_a_native_refund_answers_not_found(beans):
    sale_of(beans["post"]())
    for missing in (2026000002, 1, 20261, 99999999999):
        body = failed(ask(beans, LOOKUP, missing), "not_found", "id")
        assert body["error"] == f"sale {missing} could not be found"
    native = beans["api"].post("/v1/refunds", {"invoice": "1", "lines": [{"line": 2, "quantity": "1"}]},
                               key=uuid.uuid4().hex)
    assert native.status_code == 201, native.text
    digits = int(native.json()["number"].replace("CN-", "").replace("-", ""))
    failed(ask(beans, LOOKUP, digits), "not_found", "id")


def test_lookup_validates_the_id_and_the_credentials(beans):
    failed(ask(beans, LOOKUP, None), "validation_error", "id")
    failed(ask(beans, LOOKUP, "2026000001"), "validation_error", "id")
    failed(ask(beans, LOOKUP, 0), "validation_error", "id")
    failed(beans["post"](path=LOOKUP, raw="[1]"), "validation_error", None)
    wrong = {"auth_uid": beans["uid"], "auth_key": "nope", "auth_expiration": 1700000000, "id": 2026000001}
    body = failed(beans["post"](wrong, path=LOOKUP), "unauthorized", slot="auth_error")
    assert body["auth_error"] == "Invalid user credentials."


def test_cancel_voids_the_refund_once_and_frees_the_sale(beans):
    made = sale_of(beans["post"]())
    [native] = refunds(beans)
    cancelled = sale_of(ask(beans, "/Api/Customer/Sale/Cancel", made["id"]))
    assert cancelled["status"] == "Cancelled" and cancelled["date_cancelled"] == made["date_created"]
    assert cancelled["credit_note"] == {**made["credit_note"], "state": "voided"}
    unchanged = {k: v for k, v in made.items() if k not in ("status", "date_cancelled", "credit_note")}
    assert {k: v for k, v in cancelled.items() if k in unchanged} == unchanged
    assert beans["api"].get(f"/v1/refunds/{native['id']}").json()["state"] == "voided"
    assert sale_of(ask(beans, LOOKUP, made["id"])) == cancelled
    # a cancelled refund cannot be cancelled again, in BeansBooks' envelope; nothing changes
    body = failed(ask(beans, CANCEL, made["id"]), "invalid_state")
    assert body["error"] == "That sale has already been cancelled."
    assert sale_of(ask(beans, LOOKUP, made["id"])) == cancelled
    # the sale is free for a new refund at once, even the same request; that one is kept once
    again = beans["post"]()
    new = sale_of(again)
    assert new["id"] == 2026000002 and new["status"] == "Refund Pending" and "Idempotent-Replayed" not in again.headers
    replay = beans["post"]()
    assert sale_of(replay) == new and replay.headers["Idempotent-Replayed"] == "true"
    failed(beans["post"](beans["body"](lines=[{"description": "Shipping", "amount": "-15.00", "quantity": 1}])),
           "idempotency_key_reused", "id")
    assert [r["state"] for r in refunds(beans)] in (["posted", "voided"], ["voided", "posted"])


def test_cancel_and_lookup_need_their_permissions(engine, clock, beans):
    made = sale_of(beans["post"]())
    for permissions, allowed in ((("refund:create",), set()), (("refund:read",), {LOOKUP}),
                                 (("refund:void",), {CANCEL}), (("refund:read", "refund:void"), {LOOKUP, CANCEL})):
        uid, key = 5_000_000 + int(uuid.uuid4().hex[:5], 16), f"key-{uuid.uuid4().hex}"
        create_door_credential(engine, beans["name"], "beansbooks", login=str(uid), secret=key,
                               permissions=permissions, settings=seed.settings(), clock=clock)
        for path in (LOOKUP, CANCEL):
            response = beans["post"]({"auth_uid": uid, "auth_key": key, "auth_expiration": 1700000000,
                                      "id": made["id"]}, path=path)
            if path in allowed:
                assert sale_of(response)["id"] == made["id"]
            else:
                body = failed(response, "forbidden", "auth_uid", slot="auth_error")
                assert body["errors"][0]["message"] == "User does not have access permission to that feature."
        if CANCEL in allowed:  # put a posted refund back for the next credential
            sale_of(beans["post"]())
            made = {"id": made["id"] + 1}


def test_another_tenants_refund_answers_as_a_missing_one(engine, clock, api_for):
    a, b = make_beans(engine, clock, api_for), make_beans(engine, clock, api_for)
    theirs = sale_of(b["post"](b["body"](lines=[{"description": "Shipping", "amount": "-15.00", "quantity": 1}])))
    for path in (LOOKUP, CANCEL):
        foreign, missing = ask(a, path, theirs["id"]), ask(a, path, theirs["id"] + 1)
        assert foreign.json() == missing.json() | {"error": foreign.json()["error"],
                                                   "errors": foreign.json()["errors"]}
        failed(foreign, "not_found", "id")
        assert foreign.json()["errors"][0]["message"] == f"sale {theirs['id']} could not be found"
    assert sale_of(ask(b, LOOKUP, theirs["id"])) == theirs
    assert [r["state"] for r in refunds(b)] == ["posted"]
