"""CRM.COM V4 ``POST refunds/update`` and ``POST refunds/reject`` (issue 13): a DRAFT refund (a payout
draft) is changed, posted by setting ``life_cycle_state`` to ``POSTED``, or rejected; anything but a
draft answers in CRM.COM's error envelope and changes nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

from salesrefund.seeds import crmcom as seed
from salesrefund.service.doors import create_door_credential
from test_crmcom import (  # noqa: F401 (crm is a fixture)
    BASE, assert_books_consistent, balance, build_tenant, create, crm, failed, login, minimal, ok, raw, state,
)

UPDATE = BASE + "/refunds/update"
REJECT = BASE + "/refunds/reject"
SHOW = BASE + "/refunds/show"
LIST = BASE + "/refunds/list"


def post(crm, path, body, token=None):
    return crm.client.post(path, content=raw({"token": token or crm.token, **body}),
                           headers={"Content-Type": "application/json"})


def draft(crm, **changes):
    data = ok(create(crm, minimal(life_cycle_state="DRAFT", **changes)))
    assert data["life_cycle_state"] == "DRAFT" and data["number"] is None
    return data


def show(crm, refund_id, token=None):
    return crm.client.get(SHOW, params={"token": token or crm.token, "refund_identifier": f"id={refund_id}"})


def test_update_changes_a_draft_then_posts_it(crm):
    made = draft(crm, refund_amount=Decimal("40.00"))
    assert balance(crm) == "500.00"
    changed = ok(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "refund_amount": Decimal("60.00"),
                                    "notes": "checked", "issue_reason": "goodwill"}))
    assert changed["life_cycle_state"] == "DRAFT" and str(changed["refund_amount"]) == "60.00"
    assert changed["notes"] == "checked" and changed["issue_reason"] == "goodwill"
    assert balance(crm) == "500.00"  # a draft moves no money
    posted = ok(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "POSTED"}))
    assert posted["life_cycle_state"] == "POSTED" and posted["number"].startswith("PO-")
    assert str(posted["refund_amount"]) == "60.00" and posted["notes"] == "checked"
    assert balance(crm) == "440.00"
    assert ok(show(crm, made["id"])) == posted
    native = crm.api.get(f"/v1/refunds/{made['id']}").json()
    assert native["state"] == "posted" and native["total"] == "60.00"
    assert_books_consistent(crm)
    before = state(crm)  # a posted refund is no longer a draft: refused, nothing changes
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "notes": "x"}), 422, "INVALID_STATE")
    failed(post(crm, REJECT, {"refund_identifier": {"number": posted["number"]}}), 422, "INVALID_STATE")
    assert state(crm) == before


def test_posting_a_draft_above_the_balance_is_refused_and_changes_nothing(crm):
    made = draft(crm, refund_amount=Decimal("400.00"))
    ok(create(crm, minimal(refund_amount=Decimal("200.00"))))
    before = state(crm)
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "POSTED"}), 422,
           "AMOUNT_EXCEEDS_BALANCE", "refund_amount")
    assert state(crm) == before and ok(show(crm, made["id"]))["life_cycle_state"] == "DRAFT"


def test_reject_makes_a_draft_rejected_in_show_and_list(crm):
    made = draft(crm)
    rejected = ok(post(crm, REJECT, {"refund_identifier": {"id": made["id"]}}))
    assert rejected["life_cycle_state"] == "REJECTED" and rejected["number"] is None
    assert ok(show(crm, made["id"]))["life_cycle_state"] == "REJECTED"
    items = ok(crm.client.get(LIST, params={"token": crm.token, "accounts_receivable_identifier": "ACR0000001"}))
    assert [i["life_cycle_state"] for i in items if i["id"] == made["id"]] == ["REJECTED"]
    assert balance(crm) == "500.00"
    assert_books_consistent(crm)
    before = state(crm)
    failed(post(crm, REJECT, {"refund_identifier": {"id": made["id"]}}), 422, "INVALID_STATE")
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "POSTED"}), 422,
           "INVALID_STATE")
    assert state(crm) == before


def test_a_posted_refund_voided_still_shows_cancelled(crm):
    made = ok(create(crm, minimal()))
    assert crm.api.post(f"/v1/refunds/{made['id']}/void").status_code == 200
    assert ok(show(crm, made["id"]))["life_cycle_state"] == "CANCELLED"


def test_malformed_requests_answer_in_the_envelope_and_change_nothing(crm):
    made = draft(crm)
    before = state(crm)
    failed(post(crm, UPDATE, {"refund_amount": Decimal("1.00")}), 422, "MISSING_PARAMETER", "refund_identifier")
    failed(post(crm, UPDATE, {"refund_identifier": {"colour": "red"}}), 422, "INVALID_PARAMETER", "refund_identifier")
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "CANCELLED"}), 422,
           "INVALID_PARAMETER", "life_cycle_state")
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "refund_amount": "1.001"}), 422,
           "INVALID_PARAMETER", "refund_amount")
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "accounts_receivable_identifier": {
        "number": "ACR0000002"}}), 422, "INVALID_PARAMETER", "accounts_receivable_identifier")
    failed(post(crm, REJECT, {"refund_identifier": {"id": made["id"]}, "reason": "x"}), 422, "INVALID_PARAMETER",
           "reason")
    failed(post(crm, REJECT, {"refund_identifier": {"id": str(uuid.uuid4())}}), 404, "NOT_FOUND")
    failed(crm.client.post(REJECT, json={"refund_identifier": {"id": made["id"]}}), 401, "INVALID_TOKEN")
    assert state(crm) == before


def test_a_read_credential_may_show_but_not_update_or_reject(engine, clock, crm):
    made = draft(crm)
    username = f"reader-{uuid.uuid4().hex[:8]}"
    create_door_credential(engine, crm.name, "crmcom", login=username, secret="pw", permissions=("refund:read",),
                           settings=seed.settings(), clock=clock)
    token = login(crm.client, username, password="pw")
    before = state(crm)
    failed(post(crm, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "POSTED"}, token),
           403, "FORBIDDEN", "token")
    failed(post(crm, REJECT, {"refund_identifier": {"id": made["id"]}}, token), 403, "FORBIDDEN", "token")
    assert ok(show(crm, made["id"], token))["life_cycle_state"] == "DRAFT"
    assert state(crm) == before


def test_another_tenants_draft_is_not_found(engine, clock, client, crm):
    made = draft(crm)
    other = build_tenant(engine, clock, client)
    other.client = client
    before = state(crm)
    failed(post(other, UPDATE, {"refund_identifier": {"id": made["id"]}, "life_cycle_state": "POSTED"}), 404,
           "NOT_FOUND")
    failed(post(other, REJECT, {"refund_identifier": {"id": made["id"]}}), 404, "NOT_FOUND")
    assert state(crm) == before and ok(show(crm, made["id"]))["life_cycle_state"] == "DRAFT"
