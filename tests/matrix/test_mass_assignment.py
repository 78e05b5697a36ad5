"""Server-owned fields sent by a client are refused or ignored, never stored (issue 4, item 9).

``MASS`` has one row per route of the app (``test_the_mass_assignment_table_covers_every_route``
fails when a route has none). Server-owned fields (ids, tenant, states on lines, refunded figures,
numbers, journal ids, creators and credentials, store-credit balances, kinds, timestamps, totals)
are sent in every request shape: native JSON bodies and query strings, Internom and BeansBooks
JSON, Vodo forms, CRM.COM JSON and query strings, SnR2U JSON and JSV.

Where each door's document says unknown fields are refused (native API, Vodo, CRM.COM, SnR2U)
each field gets a validation error naming it, and no row of any table changes. Where the document
says they are ignored (Internom's Odoo controller, BeansBooks, SnR2U's read-only fields, a body sent
to a route that takes none, a query parameter no route reads) the request is compared with its
twin without the fields: the stored refunds are the same, field for field, and every server-owned
value is the server's.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from types import SimpleNamespace

import pytest

from matrix_kit import (
    BEANS, BEANS_ANY_CASE, BEANS_CANCEL, BEANS_LOOKUP, CRM_CREATE, CRM_LOGIN, CRM_SHOW, INTERNOM, SNR2U, VODO, Api, Req,
    assert_table_covers_routes, assert_unchanged, bearer, beans_body, beans_read_body, beans_req, beans_sales, build_side,
    credential_of_door, credential_of_token, crm_body, shown_credential,
    crm_create, crm_show, internom_body, internom_req, ok, problem, snapshot, snr2u_answer, snr2u_note, snr2u_req,
    token_with, vodo_form, vodo_req,
)
from salesrefund.http.dialects import jsv
from salesrefund.seeds import beansbooks as beans_seed
from salesrefund.seeds import crmcom as crm_seed
from salesrefund.seeds import internom as internom_seed
from salesrefund.seeds import snr2u as snr2u_seed
from salesrefund.seeds import vodo as vodo_seed

_serial = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def world(client, engine, clock):
    a = build_side(client, engine, clock, "a")
    other = build_side(client, engine, clock, "b").native  # a tenant whose id and name are sent as "tenant"
    w = SimpleNamespace(a=a, n=a.native, client=client, engine=engine, clock=clock, other=other)
    w.sales = iter(range(900_000, 900_040))
    beans_sales(engine, clock, a.beans.id, range(900_000, 900_040))
    w.internom_token = token_with(engine, clock, a.internom.name, "refund:create", "refund:read")
    return w


# Server-owned names, with values a client might try. ``other`` is filled in per world.
def server_owned(w) -> dict:
    return {"id": str(uuid.uuid4()), "tenant": w.other.name, "tenant_id": w.other.id, "kind": "payout",
            "number": "CN-2026-999999", "channel": "vodo", "credential_id": 1, "created_by": "mallory",
            "created_at": "2020-01-01T00:00:00+00:00", "posted_at": "2020-01-01T00:00:00+00:00",
            "voided_at": "2020-01-01T00:00:00+00:00", "journal_entry_id": 1, "void_entry_id": 1,
            "request_id": "forged", "unlinked": True, "customer_id": 1, "invoice_id": 1, "location_id": 1,
            "net": "0.01", "tax": "0.00", "gross": "0.01", "rounding": "0.00", "total": "0.01", "taxes": [],
            "refunded_total": "0.00", "credit_balance": "1000.00", "metadata_json": "{}", "command_json": "{}",
            "public_id": str(uuid.uuid4())}


LINE_OWNED = {"state": "posted", "refunded_quantity": "0", "refunded_amount": "0.00", "refundable_quantity": "99",
              "refundable_amount": "999.00", "net": "0.01", "tax": "0.00", "gross": "0.01", "invoice_line": 1,
              "invoice_line_id": 1, "cost": "0", "unit_cost": "0", "cost_minor": 0, "id": 1, "refund_id": 1,
              "product_id": 1, "location_id": 1, "line_no": 1, "tenant_id": 1}
PAYMENT_OWNED = {"kind": "store_credit", "id": 1, "refund_id": 1, "amount_minor": 1, "tenant_id": 1}


def _refused_each(w, req_of, fields: dict, tenant_id: int, pointer_of=lambda name: f"/{name}"):
    """Each field alone makes the request a 422 naming it; nothing changes anywhere."""
    before = snapshot(w.engine, [tenant_id])
    for name, value in fields.items():
        req = req_of(name, value)
        problem(req.send(w.client, bearer(w.n.token)), 422, "validation_error", pointer_of(name))
    assert_unchanged(before, snapshot(w.engine, [tenant_id]), "after refused server-owned fields")


# -- native API ----------------------------------------------------------------------------------------

def native_refund_body(w, route):
    n = w.n
    base = {"invoice": n.cap, "lines": [{"line": 1, "quantity": "1"}], "payments": [{"method": "cash", "amount": "1.00"}]}
    method, path = route
    if route == ("PATCH", "/v1/refunds/{refund_id}"):
        draft = ok(n.api.post("/v1/refunds", {**base, "state": "draft"}), 201)
        path = f"/v1/refunds/{draft['id']}"
        stored = ok(n.api.get(path))
        base = {"reason": "edited"}
    owned = server_owned(w) | {"state": "voided"}
    _refused_each(w, lambda name, value: Req(method, path, json={**base, name: value}), owned, n.id)
    line_base = {"line": 1, "quantity": "1"}
    _refused_each(w, lambda name, value: Req(method, path, json={**base, "lines": [{**line_base, name: value}]}),
                  LINE_OWNED, n.id, lambda name: f"/lines/0/{name}")
    _refused_each(w, lambda name, value: Req(method, path, json={
        **base, "payments": [{"method": "cash", "amount": "1.00", name: value}]}), PAYMENT_OWNED, n.id,
        lambda name: f"/payments/0/{name}")
    if route == ("PATCH", "/v1/refunds/{refund_id}"):
        assert ok(n.api.get(path)) == stored
    if route == ("POST", "/v1/refunds"):
        # metadata is the client's own free-form map: names like server fields there change nothing
        made = ok(n.api.post(path, {**base, "metadata": {"tenant_id": w.other.id, "channel": "vodo", "kind": "payout",
                                                         "state": "voided", "number": "CN-X"}}), 201)
        assert (made["channel"], made["kind"], made["state"]) == ("native", "refund", "posted")
        assert re.fullmatch(r"CN-2026-\d{6}", made["number"])
        assert ok(n.api.get(f"/v1/refunds/{made['id']}")) == made
        problem(w.other.api.get(f"/v1/refunds/{made['id']}"), 404, "not_found")


def native_master_data(w, route):
    n = w.n
    bodies = {
        ("POST", "/v1/customers"): ({"code": fresh("C"), "name": "N"}, ("id", "tenant", "tenant_id", "credit_balance",
                                                                         "credit_balance_minor", "created_at")),
        ("POST", "/v1/products"): ({"code": fresh("P"), "name": "N"}, ("id", "tenant", "tenant_id", "unit_cost",
                                                                        "created_at")),
        ("POST", "/v1/locations"): ({"code": fresh("L"), "name": "N"}, ("id", "tenant", "tenant_id")),
        ("POST", "/v1/stock/receipts"): ({"product": n.book, "quantity": "1"}, ("id", "tenant_id", "unit_cost",
                                                                                 "source_type", "source_id", "cost")),
        ("POST", "/v1/periods/close"): ({"through": n.closed_through}, ("tenant_id", "closed_at", "closed_through")),
        ("POST", "/v1/periods/reopen"): ({"from": "2026-05-01"}, ("tenant_id", "closed_at", "closed_through")),
    }
    base, names = bodies[route]
    owned = server_owned(w) | {"credit_balance_minor": 100000, "unit_cost": "0.01", "source_type": "refund",
                               "source_id": 1, "cost": "0.01", "closed_at": None, "closed_through": None}
    _refused_each(w, lambda name, value: Req(*route, json={**base, name: value}), {k: owned[k] for k in names}, n.id)
    if route == ("POST", "/v1/customers"):  # a new customer owes nothing, whatever the body says
        assert ok(n.api.post("/v1/customers", base), 201)["credit_balance"] == "0.00"


def native_invoice(w, route):
    n = w.n
    base = {"number": fresh("INV"), "customer": n.customer, "date": "2026-06-10",
            "lines": [{"product": n.wrap, "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}],
            "payments": [{"method": "cash", "amount": "1.00"}]}
    # every server-owned name but ``number``, which is the invoice's own (the client's) number
    top = {k: v for k, v in server_owned(w).items() if k != "number"} | {"refundable_total": "0.00",
                                                                           "refunded_total_minor": 100}
    _refused_each(w, lambda name, value: Req(*route, json={**base, name: value}), top, n.id)
    line = {"line": 1, "net": "1.00", "tax": "0.00", "gross": "1.00", "refunded_quantity": "1",
            "refunded_amount": "1.00", "refundable_quantity": "0", "refundable_amount": "0.00", "id": 1,
            "unit_cost": "0", "stock_tracked": True, "state": "posted", "tenant_id": w.other.id}
    _refused_each(w, lambda name, value: Req(*route, json={**base, "lines": [{**base["lines"][0], name: value}]}),
                  line, n.id, lambda name: f"/lines/0/{name}")
    _refused_each(w, lambda name, value: Req(*route, json={**base, "payments": [{**base["payments"][0], name: value}]}),
                  {"kind": "store_credit", "id": 1}, n.id, lambda name: f"/payments/0/{name}")
    made = ok(n.api.post("/v1/invoices", base), 201)
    assert (made["refunded_total"], made["lines"][0]["refunded_quantity"]) == ("0.00", "0")


def native_void(w, route):
    n = w.n
    posted = ok(n.api.post("/v1/refunds", {"invoice": n.cap, "lines": [{"line": 1, "quantity": "1"}]}), 201)
    path = f"/v1/refunds/{posted['id']}/void"
    owned = {"state": "posted", "voided_at": "2020-01-01T00:00:00+00:00", "void_entry_id": 1, "number": "CN-X",
             "tenant_id": w.other.id, "id": str(uuid.uuid4()), "credential_id": 1}
    _refused_each(w, lambda name, value: Req("POST", path, json={"reason": "r", name: value}), owned, n.id)
    assert ok(n.api.get(f"/v1/refunds/{posted['id']}")) == posted


def native_post(w, route):
    """Posting takes no body: one sent is ignored, and the number, state, date and journal are
    the server's."""
    n = w.n
    draft = ok(n.api.post("/v1/refunds", {"invoice": n.cap, "state": "draft", "lines": [{"line": 1, "quantity": "1"}]}),
               201)
    forged = {"state": "voided", "number": "CN-1999-000001", "posting_date": "2026-01-02", "journal_entry_id": 1,
              "tenant_id": w.other.id, "kind": "payout", "channel": "vodo", "posted_at": "2020-01-01T00:00:00+00:00"}
    posted = ok(Req("POST", f"/v1/refunds/{draft['id']}/post", json=forged).send(w.client, bearer(n.token)))
    assert (posted["state"], posted["kind"], posted["channel"]) == ("posted", "refund", "native")
    assert re.fullmatch(r"CN-2026-\d{6}", posted["number"]) and posted["posting_date"] == "2026-06-15"
    assert posted["posted_at"].startswith("2026-06-15")
    entries = ok(n.api.get(f"/v1/refunds/{draft['id']}/journal"))["items"]
    assert len(entries) == 1 and entries[0]["id"] != 1 and entries[0]["date"] == "2026-06-15"


def native_delete(w, route):
    """A body on DELETE is ignored: only the draft in the path goes."""
    n = w.n
    drafts = [ok(n.api.post("/v1/refunds", {"invoice": n.cap, "state": "draft", "lines": [{"line": 1, "quantity": "1"}]}),
                 201) for _ in range(2)]
    response = Req("DELETE", f"/v1/refunds/{drafts[0]['id']}", json={"id": drafts[1]["id"], "tenant_id": w.other.id,
                                                                      "state": "draft"}).send(w.client, bearer(n.token))
    assert response.status_code == 204, response.text
    problem(n.api.get(f"/v1/refunds/{drafts[0]['id']}"), 404, "not_found")
    assert ok(n.api.get(f"/v1/refunds/{drafts[1]['id']}")) == drafts[1]


def native_query(w, route):
    """No route reads a tenant, credential or kind from the query string: sent, they change nothing."""
    n = w.n
    path = route[1].format(code=n.customer, number=n.invoice, refund_id=n.posted["id"]) \
        if "{" in route[1] else route[1]
    if route[1].startswith("/v1/products/"):
        path = f"/v1/products/{n.book}"
    plain = ok(n.api.get(path))
    injected = {"tenant_id": w.other.id, "tenant": w.other.name, "credential_id": 1, "kind": "payout",
                "channel": "vodo", "id": w.other.posted["id"]}
    assert ok(n.api.get(path, **injected)) == plain


# -- the doors ------------------------------------------------------------------------------------------

STABLE = ("id", "number", "reference", "created_at", "posted_at", "voided_at", "metadata", "invoice")


def same_refund(a: dict, b: dict) -> None:
    """Two stored refunds are the same but for their identity (ids, numbers, references, times)."""
    strip = lambda view: {k: v for k, v in view.items() if k not in STABLE}  # noqa: E731
    assert strip(a) == strip(b), (a, b)


def internom(w, route):
    d, token = w.a.internom, w.internom_token
    api = Api(w.client, token["token"])
    customer = ok(api.get(f"/v1/customers/{internom_seed.CUSTOMER}"))
    # Internom's own fields (customer_id is the tax number, product_id the barcode) are not forged
    forged_top = {k: v for k, v in server_owned(w).items() if k != "customer_id"} | {"state": "voided", "sale_name": "CN-X", "order_ref": "x", "invoice": "INV-1",
                                    "customer": "IC-x", "location": "main", "payments": [{"method": "store_credit"}],
                                    "currency": "EUR", "status": "error", "message": "x", "data": {}}
    forged_line = {k: v for k, v in LINE_OWNED.items() if k != "product_id"} | {"tax_rate": "15", "location": "main", "restock": False, "line": 2, "amount": "1"}
    clean_ref, dirty_ref = fresh("REF"), fresh("REF")
    clean = ok(internom_req(token["token"], internom_body(clean_ref)).send(w.client))
    body = internom_body(dirty_ref)
    body.update(forged_top)
    body["order_line"][0].update(forged_line)
    dirty = ok(internom_req(token["token"], body).send(w.client))
    assert dirty["status"] == "success" and re.fullmatch(r"CN-2026-\d{6}", dirty["data"]["sale_name"])
    ids = [re.search(r"ID: '([^']+)'", x["data"]["order_ref"]).group(1) for x in (clean, dirty)]
    views = [ok(api.get(f"/v1/refunds/{i}")) for i in ids]
    same_refund(*views)
    stored = views[1]
    assert (stored["channel"], stored["kind"], stored["state"], stored["customer"], stored["currency"]) == \
        ("internom", "refund", "posted", internom_seed.CUSTOMER, "MNT")
    assert stored["reference"] == dirty_ref and set(stored["metadata"]) == {"reference_id", "customer_tax_number",
                                                                             "barcodes"}
    assert stored["lines"][0]["tax_rate"] == "0" and stored["lines"][0]["restock"] is True
    audit = ok(api.get(f"/v1/refunds/{ids[1]}/audit"))["items"]
    assert [e["credential_id"] for e in audit] == [shown_credential(w.engine, token["id"])]
    assert ok(api.get(f"/v1/customers/{internom_seed.CUSTOMER}")) == customer


def internom_read(w, route):
    """Tenant or ids in the query string change nothing of the answer (issue 13)."""
    token = w.internom_token["token"]
    reference = fresh("REF")
    assert ok(internom_req(token, internom_body(reference)).send(w.client))["status"] == "success"
    plain = ok(Req("GET", INTERNOM, params={"reference": reference}).send(w.client, bearer(token)))
    injected = {"reference": reference, "tenant_id": w.other.id, "tenant": w.other.name, "credential_id": 1,
                "channel": "native", "id": w.other.posted["id"]}
    assert ok(Req("GET", INTERNOM, params=injected).send(w.client, bearer(token))) == plain


VODO_OWNED = ("id", "uuid", "reference", "number", "tenant_id", "tenant", "state", "status", "invoice_id", "total",
              "total_without_deduct", "amount_total", "tax_amount_total", "rounding", "currency", "created_at",
              "updated_at", "created_date", "created_by", "user_id", "business_id", "credit_note_id", "channel", "kind",
              "credential_id", "posted_at", "journal_entry_id", "all_items[]", "item_tax_rate[]", "item_total[]",
              "refunded_qty[]", "item_refunded_qty[]", "credit_balance")


def vodo(w, route):
    d = w.a.vodo
    path = route[1].replace("{invoice_id}", vodo_seed.INVOICE)
    before = snapshot(w.engine, [d.id])
    for name in VODO_OWNED:
        response = vodo_req(d.headers, None, vodo_form(extra=[(name, "1")]), path=path).send(w.client)
        assert response.status_code == 422, (name, response.text)
        errors = response.json()["errors"]
        if "{invoice_id}" in route[1]:  # past the invoice id, the unknown field is what is named
            assert {"field": name, "code": "validation_error"} in [{k: e[k] for k in ("field", "code")} for e in errors], \
                (name, errors)
        else:
            assert errors[0]["field"] == "invoice_id", errors
    assert_unchanged(before, snapshot(w.engine, [d.id]), "Vodo after server-owned fields")


CRM_OWNED = ("id", "number", "kind", "tenant_id", "tenant", "state", "posted_date", "created_date", "issued_on",
             "accounts_receivable", "currency", "refund_method", "type", "category", "customer_id", "credit_balance",
             "channel", "credential_id", "journal_entry_id", "payments", "reference", "status", "data")


def _crm_invalid(response, field):
    assert response.status_code == 422, (field, response.text)
    body = response.json()
    assert body["data"] is None and body["status"]["code"] == "INVALID_PARAMETER", (field, body)
    # the parameter sent is the one named (an unknown ``id`` was once blamed on ``refund_identifier``)
    assert body["status"]["description"].startswith(f"{field}: "), body


def crm_create_route(w, route):
    d = w.a.crm
    account = ok(d.admin.get(f"/v1/customers/{crm_seed.ACCOUNT}"))
    before = snapshot(w.engine, [d.id])
    for name in CRM_OWNED:
        _crm_invalid(crm_create(crm_body(d.session, **{name: "999.00"})).send(w.client), name)
    for identifier, extra in (("accounts_receivable_identifier", {"number": crm_seed.ACCOUNT, "credit_balance": "1"}),
                              ("accounts_receivable_identifier", {"number": crm_seed.ACCOUNT, "tenant_id": 1}),
                              ("type_identifier", {"name": "Refund", "default_method": crm_seed.CARD_ID}),
                              ("refund_method_identifier", {"name": "Cash", "payment_method": "store_credit"}),
                              ("refund_method_identifier", {"name": "Card", "gateway": False})):
        _crm_invalid(crm_create(crm_body(d.session, **{identifier: extra})).send(w.client), identifier)
    assert_unchanged(before, snapshot(w.engine, [d.id]), "CRM.COM after server-owned parameters")
    assert ok(d.admin.get(f"/v1/customers/{crm_seed.ACCOUNT}")) == account


def crm_login_route(w, route):
    d = w.a.crm
    before = snapshot(w.engine, [d.id])
    good = {"username": d.username, "password": crm_seed.PASSWORD, "organisation": crm_seed.ORGANISATION}
    for name, value in (("tenant_id", w.other.id), ("permissions", ["admin"]), ("credential_id", 1),
                        ("door", "vodo"), ("settings", {"organisation": "X"}), ("token", "forged")):
        _crm_invalid(Req("POST", CRM_LOGIN, json={**good, name: value}).send(w.client), name)
    assert_unchanged(before, snapshot(w.engine, [d.id]), "CRM.COM after a refused login")  # no session


def crm_show_route(w, route):
    d = w.a.crm
    plain = ok(crm_show(d.session, f"id={d.payout['id']}").send(w.client))
    for name in ("tenant_id", "tenant", "id", "number", "kind", "credential_id"):
        _crm_invalid(crm_show(d.session, f"id={d.payout['id']}", **{name: "1"}).send(w.client), name)
    assert ok(crm_show(d.session, f"id={d.payout['id']}").send(w.client)) == plain


CRM_LIST = CRM_SHOW.replace("/show", "/list")  # GET refunds/list (issue 13)


def crm_list_route(w, route):
    d = w.a.crm
    params = {"token": d.session, "accounts_receivable_identifier": f"number={crm_seed.ACCOUNT}"}
    plain = ok(Req("GET", CRM_LIST, params=params).send(w.client))
    for name in ("tenant_id", "tenant", "id", "kind", "credential_id", "customer_id"):
        _crm_invalid(Req("GET", CRM_LIST, params={**params, name: "1"}).send(w.client), name)
    assert ok(Req("GET", CRM_LIST, params=params).send(w.client)) == plain


CRM_UPDATE = CRM_SHOW.replace("/show", "/update")  # POST refunds/update (issue 13)
CRM_REJECT = CRM_SHOW.replace("/show", "/reject")  # POST refunds/reject (issue 13)


def crm_change_route(w, route):
    """Server-owned fields (the tenant, the state as the database spells it, the number, the
    customer, the balance, the kind) are refused by name and change nothing."""
    d = w.a.crm
    draft = ok(crm_create(crm_body(d.session, life_cycle_state="DRAFT")).send(w.client))["data"]
    before = snapshot(w.engine, [d.id])
    for name, value in (("tenant_id", 1), ("state", "posted"), ("number", "PO-2026-000009"), ("id", "x"),
                        ("kind", "refund"), ("credit_balance", "999.00"), ("posted_date", "2026-01-01"),
                        ("accounts_receivable_identifier", {"number": crm_seed.ACCOUNT}), ("credential_id", 1)):
        body = {"token": d.session, "refund_identifier": {"id": draft["id"]}, name: value}
        _crm_invalid(Req("POST", route[1], json=body).send(w.client), name)
    assert_unchanged(before, snapshot(w.engine, [d.id]), "CRM.COM after server-owned parameters")


def beans(w, route):
    d = w.a.beans
    path = BEANS if route[1] == BEANS else BEANS_ANY_CASE
    customers = [ok(d.admin.get(f"/v1/customers/{c}")) for c in (beans_seed.CUSTOMER, d.customer)]
    # BeansBooks' own ``id`` (the sale) and ``taxes`` are the client's fields, not forged
    forged = {k: v for k, v in server_owned(w).items() if k not in ("id", "taxes")} | {
        "credit_note": {"id": str(uuid.uuid4()), "number": "CN-X", "state": "voided"}, "status": "Refunded",
        "balance": "0.00", "subtotal": "-0.01", "taxestotal": "0.00", "customer": {"id": d.customer},
        "refund_sale_id": 1, "payments": [{"amount": "-1.00", "type": "cash"}], "date_cancelled": "2026-06-15",
        "create_transaction_id": 5, "invoice_transaction_id": 6, "title": "x", "state": "voided"}
    clean_sale, dirty_sale = next(w.sales), next(w.sales)
    clean = ok(beans_req(beans_body(d.cred, clean_sale), path=path).send(w.client))
    body = beans_body(d.cred, dirty_sale, **forged)
    body["lines"][0].update({"total": "-0.01", "id": 7, "line_taxes": [], "tax": "0", "state": "posted",
                             "refunded_quantity": "0", "net": "0.01"})
    body["taxes"][0].update({"percent": "0", "amount": "0.00", "total": "0.00", "fee": "5.00", "tax": {"percent": "0"}})
    dirty = ok(beans_req(body, path=path).send(w.client))
    assert clean["success"] is True and dirty["success"] is True, dirty
    sale = dirty["data"]["sale"]
    assert (sale["subtotal"], sale["taxestotal"], sale["total"], sale["status"]) == \
        ("-49.99", "-4.12", "-54.11", "Refund Pending")
    assert sale["customer"]["company_name"] == "Bean There Coffee Co." and sale["credit_note"]["state"] == "posted"
    assert sale["credit_note"]["number"] != "CN-X"
    views = [ok(d.admin.get(f"/v1/refunds/{x['data']['sale']['credit_note']['id']}")) for x in (clean, dirty)]
    same_refund(*views)
    assert (views[1]["channel"], views[1]["kind"], views[1]["customer"]) == ("beansbooks", "refund", beans_seed.CUSTOMER)
    audit = ok(d.admin.get(f"/v1/refunds/{views[1]['id']}/audit"))["items"]
    assert [e["credential_id"] for e in audit] == [shown_credential(w.engine, credential_of_door(w.engine, "beansbooks", str(d.cred[0])))]
    assert [ok(d.admin.get(f"/v1/customers/{c}")) for c in (beans_seed.CUSTOMER, d.customer)] == customers


def beans_read(w, route):
    """Server-owned fields in a lookup or cancel body are ignored, as BeansBooks ignores fields it
    does not know: the answer is the one without them and only the named refund changes (issue 13)."""
    d = w.a.beans
    forged = {k: v for k, v in server_owned(w).items() if k != "id"} | {
        "credit_note": {"id": str(uuid.uuid4()), "number": "CN-X", "state": "posted"}, "status": "Refunded",
        "date_cancelled": "2026-01-01", "state": "posted", "refund_sale_id": 1, "reason": "forged"}
    if route[1] == BEANS_LOOKUP:
        before = snapshot(w.engine, [d.id])
        plain = ok(beans_req(beans_read_body(d.cred, d.refund_sale), path=route[1]).send(w.client))
        dirty = ok(beans_req(beans_read_body(d.cred, d.refund_sale, **forged), path=route[1]).send(w.client))
        assert plain["success"] is True and dirty == plain, dirty
        assert_unchanged(before, snapshot(w.engine, [d.id]), "BeansBooks lookup with forged fields")
        return
    made = [ok(beans_req(beans_body(d.cred, next(w.sales))).send(w.client))["data"]["sale"] for _ in range(2)]
    answers = [ok(beans_req(beans_read_body(d.cred, made[0]["id"]), path=route[1]).send(w.client)),
               ok(beans_req(beans_read_body(d.cred, made[1]["id"], **forged), path=route[1]).send(w.client))]
    for answer, sale in zip(answers, made):
        got = answer["data"]["sale"]
        assert (got["id"], got["total"], got["status"], got["credit_note"]["state"]) == \
            (sale["id"], sale["total"], "Cancelled", "voided"), answer
        assert got["credit_note"]["number"] != "CN-X"
        view = ok(d.admin.get(f"/v1/refunds/{got['credit_note']['id']}"))
        assert (view["state"], view["channel"], view["kind"]) == ("voided", "beansbooks", "refund")
        audit = ok(d.admin.get(f"/v1/refunds/{view['id']}/audit"))["items"]
        assert {e["credential_id"] for e in audit} == {shown_credential(w.engine, credential_of_door(w.engine, "beansbooks", str(d.cred[0])))}


SNR2U_UNKNOWN = [
    ("top", "ResponseStatus", {"Meta": {"RefundId": str(uuid.uuid4())}}, "ResponseStatus"),
    ("top", "TenantId", 1, "TenantId"),
    ("note", "RefundId", str(uuid.uuid4()), "RefundId"),
    ("header", "RefundId", str(uuid.uuid4()), "DocumentHeader.RefundId"),
    ("header", "CreditNoteNumber", "CN-X", "DocumentHeader.CreditNoteNumber"),
    ("header", "TenantId", 1, "DocumentHeader.TenantId"),
    ("header", "State", "voided", "DocumentHeader.State"),
    ("header", "Channel", "native", "DocumentHeader.Channel"),
    ("header", "PostedAt", "2020-01-01", "DocumentHeader.PostedAt"),
    ("header", "CreditBalance", "100.00", "DocumentHeader.CreditBalance"),
    ("detail", "Id", 1, "DocumentDetails[0].Id"),
    ("detail", "RefundedQuantity", "0", "DocumentDetails[0].RefundedQuantity"),
    ("detail", "TenantId", 1, "DocumentDetails[0].TenantId"),
    ("detail", "State", "posted", "DocumentDetails[0].State"),
    ("payment", "Id", 1, "DocumentPaymentDetails[0].Id"),
    ("payment", "Kind", "store_credit", "DocumentPaymentDetails[0].Kind"),
]
SNR2U_READ_ONLY = {
    "header": {"AcCustomerName": "Mallory Sdn. Bhd.", "IsEnableEInvoiceMYS": "Y", "AcEInvoiceDocumentStatusID": "Valid",
               "IsConsolidatedEInvoice": "Y", "EInvoiceDocumentNumber_Consolidated": "CONS-1",
               "EInvoiceSubmissionUUID": "sub-1", "EInvoiceValidationUUID": "val-1",
               "EInvoiceValidationDateTime": "2026-01-01", "EInvoiceValidationLink": "https://mallory.example"},
    "detail": {"AcEInvoiceItemClassificationID": "022", "AcEInvoiceItemTaxTypeID": "01"},
}


def snr2u(w, route):
    d = w.a.snr2u
    path = route[1]
    before = snapshot(w.engine, [d.id])
    for level, name, value, field_name in SNR2U_UNKNOWN:
        note = snr2u_note(fresh("RN")[:20], **{level: {name: value}})
        response = snr2u_req(d.key, note, path=path).send(w.client)
        assert response.status_code == 400, (name, response.text)
        status = snr2u_answer(response)["ResponseStatus"]
        assert status["ErrorCode"] == "validation_error", status
        assert field_name in [e["FieldName"] for e in status["Errors"]], (field_name, status)
    # and in JSV
    note = jsv.encode(snr2u_note(fresh("RN")[:20], header={"RefundId": "x"}))
    response = Req("POST", path, content=note, headers={"Content-Type": "text/jsv", **bearer(d.key)}).send(w.client)
    assert response.status_code == 400 and "DocumentHeader.RefundId" in response.text, response.text
    assert_unchanged(before, snapshot(w.engine, [d.id]), "SnR2U after unknown fields")
    # read-only fields are accepted and ignored: the answer and the books are the server's
    customer = ok(d.admin.get(f"/v1/customers/{d.customer}"))
    mine = {"invoice": d.invoice, "customer": d.customer, "location": d.location, "stock": d.stock, "price": d.price}
    clean = snr2u_answer(ok_response(snr2u_req(d.key, snr2u_note(fresh("RN")[:20], **mine), path=path).send(w.client)))
    dirty_response = snr2u_req(d.key, snr2u_note(fresh("RN")[:20], **mine, **SNR2U_READ_ONLY), path=path).send(w.client)
    dirty = snr2u_answer(ok_response(dirty_response))
    header, detail = dirty["CustomerRefundNote"]["DocumentHeader"], dirty["CustomerRefundNote"]["DocumentDetails"][0]
    assert header["AcCustomerName"] == f"SnR2U customer {d.tag}"
    assert header["IsEnableEInvoiceMYS"] == header["IsConsolidatedEInvoice"] == "N"
    for name in ("AcEInvoiceDocumentStatusID", "EInvoiceSubmissionUUID", "EInvoiceValidationUUID",
                 "EInvoiceValidationDateTime", "EInvoiceValidationLink", "EInvoiceDocumentNumber_Consolidated"):
        assert header[name] in (None, ""), (name, header[name])
    assert detail["AcEInvoiceItemTaxTypeID"] == "06" and detail["AcEInvoiceItemClassificationID"] == "022"
    views = [ok(d.admin.get(f"/v1/refunds/{x['ResponseStatus']['Meta']['RefundId']}")) for x in (clean, dirty)]
    same_refund(*views)
    for view in views:
        assert "Mallory" not in json.dumps(view) and "mallory" not in json.dumps(view)
    audit = ok(d.admin.get(f"/v1/refunds/{views[1]['id']}/audit"))["items"]
    assert [e["credential_id"] for e in audit] == [shown_credential(w.engine, credential_of_token(w.engine, d.key))]
    assert ok(d.admin.get(f"/v1/customers/{d.customer}")) == customer


def ok_response(response):
    assert response.status_code == 200, response.text
    return response


def native_documents(w, route):
    """Documents (issue 11): the query cannot name another tenant or refund; the settings bodies
    refuse server-owned fields and change nothing."""
    n = w.n
    path = route[1].format(code=n.customer, number=n.invoice, refund_id=n.posted["id"])
    if route[0] == "GET":
        injected = {"tenant_id": w.other.id, "tenant": w.other.name, "credential_id": 1, "kind": "payout",
                    "id": w.other.posted["id"]}
        plain, dirty = n.api.get(path), n.api.get(path, **injected)
        assert plain.status_code == dirty.status_code
        if "document.pdf" in path:  # the same document (its creation time aside)
            assert dirty.headers["content-type"] == plain.headers["content-type"] == "application/pdf"
        else:
            assert {k: v for k, v in dirty.json().items() if k != "request_id"} == \
                {k: v for k, v in plain.json().items() if k != "request_id"}
        return
    base = {("PUT", "/v1/seller"): {"legal_name": "N"}, ("PUT", "/v1/customers/{code}/address"): {"city": "N"},
            ("PUT", "/v1/invoices/{number}/myinvois-uuid"): {"myinvois_uuid": "ABC-1"}}[route]
    owned = {"tenant_id": w.other.id, "tenant": w.other.name, "id": 1, "customer_id": 1, "invoice_id": 1,
             "private_key_pem": "x", "icv": 1}
    _refused_each(w, lambda name, value: Req("PUT", path, json={**base, name: value}), owned, n.id)
# -- events and webhooks (issue 13) -----------------------------------------------------------------------

HOOK_URL = "https://93.184.216.34/hooks"


def _own_hook(w) -> str:
    return ok(w.n.api.post("/v1/webhooks", {"url": HOOK_URL, "events": ["refund.posted"]}), 201)["id"]


def operate_query(w, route):
    """Tenant, credential or ids in the query string change nothing of what these routes answer."""
    n = w.n
    path = route[1].replace("{webhook_id}", _own_hook(w))
    path = path.replace("{event_id}", ok(n.api.get("/v1/events", limit=1))["items"][0]["id"])
    plain = ok(n.api.get(path))
    injected = {"tenant_id": w.other.id, "tenant": w.other.name, "credential_id": 1, "id": w.other.posted["id"]}
    assert ok(n.api.get(path, **injected)) == plain


def operate_bodies(w, route):
    """A webhook's id, secret and times are the server's; a replay names nothing else."""
    n = w.n
    owned = server_owned(w) | {"secret": "whsec_mine", "deleted_at": "2020-01-01T00:00:00+00:00", "state": "dead",
                               "attempts": 0, "event_id": 1, "endpoint_id": 1}
    path, base = {
        ("POST", "/v1/webhooks"): ("/v1/webhooks", {"url": HOOK_URL, "events": ["refund.posted"]}),
        ("POST", "/v1/events/replay"): ("/v1/events/replay", {"from": "2026-06-15", "to": "2026-06-15"}),
        ("POST", "/v1/events/{event_id}/replay"): (
            route[1].replace("{event_id}", ok(n.api.get("/v1/events", limit=1))["items"][0]["id"]), {}),
    }[route]
    _refused_each(w, lambda name, value: Req("POST", path, json={**base, name: value}), owned, n.id)


def operate_delete(w, route):
    """A body on DELETE is ignored: only the endpoint in the path goes."""
    n = w.n
    first, second = _own_hook(w), _own_hook(w)
    response = Req("DELETE", f"/v1/webhooks/{first}", json={"id": second}).send(w.client, bearer(n.token))
    assert response.status_code == 204, response.text
    problem(n.api.get(f"/v1/webhooks/{first}"), 404, "not_found")
    assert ok(n.api.get(f"/v1/webhooks/{second}"))["id"] == second


NATIVE_QUERY_ROUTES = [("GET", p) for p in (
    "/v1/customers/{code}", "/v1/products/{code}", "/v1/invoices", "/v1/invoices/{number}", "/v1/refunds",
    "/v1/refunds/{refund_id}", "/v1/refunds/{refund_id}/journal", "/v1/refunds/{refund_id}/audit", "/v1/journal",
    "/v1/ledger/trial-balance", "/v1/stock", "/v1/periods", "/v1/customers", "/v1/products", "/v1/locations",
    "/v1/payment-methods", "/v1/settings", "/v1/doors/credentials")]


def native_location_query(w, route):
    n = w.n
    plain = ok(n.api.get("/v1/locations/main"))
    assert ok(n.api.get("/v1/locations/main", tenant_id=w.other.id, tenant=w.other.name)) == plain


def native_backoffice_body(w, route):
    """Settings and door credentials: the server's own fields are refused, one by one."""
    n = w.n
    if route == ("PATCH", "/v1/settings"):
        owned = {"currency": "USD", "currency_exponent": 0, "tenant": w.other.name, "tenant_id": w.other.id,
                 "closed_through": None, "id": 1, "name": "x"}
        _refused_each(w, lambda name, value: Req(*route, json={"country": "DE", name: value}), owned, n.id)
    elif route == ("POST", "/v1/doors/credentials"):
        owned = {"tenant_id": w.other.id, "tenant": w.other.name, "credential_id": 1, "revoked": True,
                 "permissions": ["admin"], "id": "1", "secret_hash": "x", "created_at": "2026-01-01T00:00:00Z"}
        _refused_each(w, lambda name, value: Req(*route, json={"door": "snr2u", "login": fresh("K"), name: value}),
                      owned, n.id)
    else:  # DELETE takes no body and no tenant from the query
        from salesrefund.service import door_admin
        made = door_admin.create(w.engine, w.other.name, "snr2u", login=fresh("K"), clock=w.clock)
        answer = Req("DELETE", f"/v1/doors/credentials/{made['id']}", params={"tenant": w.other.name,
                                                                          "tenant_id": w.other.id}).send(
            w.client, bearer(n.token))
        problem(answer, 404, "not_found")

def snr2u_read(w, route):
    """Tenant or ids in the query string: the list refuses them by name, the read ignores them;
    nothing changes (issue 13)."""
    d = w.a.snr2u
    injected = {"tenant_id": str(w.other.id), "TenantId": w.other.name, "RefundId": "1", "channel": "native"}
    before = snapshot(w.engine, [d.id])
    if route[1].endswith("{AcCusRefundNoteMID}"):
        path = f"/CustomerRefundNotes/RN-{d.tag}"
        plain = Req("GET", path).send(w.client, bearer(d.key))
        assert plain.status_code == 200, plain.text
        again = Req("GET", path, params=injected).send(w.client, bearer(d.key))
        assert again.status_code == 200 and again.json() == plain.json(), again.text
    else:
        response = Req("GET", "/CustomerRefundNotes", params=injected).send(w.client, bearer(d.key))
        assert response.status_code == 400, response.text
        named = {e["FieldName"] for e in snr2u_answer(response)["ResponseStatus"]["Errors"]}
        assert named == set(injected), named
    assert_unchanged(before, snapshot(w.engine, [d.id]), "SnR2U read with injected parameters")


def vodo_list(w, route):
    """Tenant or ids in the query string change nothing of the answer (issue 13)."""
    d = w.a.vodo
    path = f"{VODO}/{vodo_seed.INVOICE}"
    plain = ok(Req("GET", path, headers=d.headers).send(w.client))
    injected = {"tenant_id": w.other.id, "business_id": 1, "user_id": 1, "invoice_id": "999"}
    assert ok(Req("GET", path, params=injected, headers=d.headers).send(w.client)) == plain


MASS = {route: native_query for route in NATIVE_QUERY_ROUTES} | {
    ("GET", "/v1/locations/{code}"): native_location_query,
    ("PATCH", "/v1/settings"): native_backoffice_body,
    ("POST", "/v1/doors/credentials"): native_backoffice_body,
    ("DELETE", "/v1/doors/credentials/{credential_id}"): native_backoffice_body,
    ("POST", "/v1/customers"): native_master_data,
    ("POST", "/v1/products"): native_master_data,
    ("POST", "/v1/locations"): native_master_data,
    ("POST", "/v1/stock/receipts"): native_master_data,
    ("POST", "/v1/periods/close"): native_master_data,
    ("POST", "/v1/periods/reopen"): native_master_data,
    ("POST", "/v1/invoices"): native_invoice,
    ("POST", "/v1/refunds/preview"): native_refund_body,
    ("POST", "/v1/refunds"): native_refund_body,
    ("PATCH", "/v1/refunds/{refund_id}"): native_refund_body,
    ("POST", "/v1/refunds/{refund_id}/post"): native_post,
    ("POST", "/v1/refunds/{refund_id}/void"): native_void,
    ("DELETE", "/v1/refunds/{refund_id}"): native_delete,
    ("GET", "/v1/refunds/{refund_id}/document.xml"): native_documents,
    ("GET", "/v1/refunds/{refund_id}/document.pdf"): native_documents,
    ("GET", "/v1/seller"): native_query,
    ("PUT", "/v1/seller"): native_documents,
    ("PUT", "/v1/customers/{code}/address"): native_documents,
    ("PUT", "/v1/invoices/{number}/myinvois-uuid"): native_documents,
    ("GET", "/v1/webhooks"): operate_query,
    ("GET", "/v1/webhooks/{webhook_id}"): operate_query,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): operate_query,
    ("GET", "/v1/events"): operate_query,
    ("GET", "/v1/events/{event_id}"): operate_query,
    ("POST", "/v1/webhooks"): operate_bodies,
    ("POST", "/v1/events/replay"): operate_bodies,
    ("POST", "/v1/events/{event_id}/replay"): operate_bodies,
    ("DELETE", "/v1/webhooks/{webhook_id}"): operate_delete,
    ("POST", INTERNOM): internom,
    ("GET", "/CustomerRefundNotes/{AcCusRefundNoteMID}"): snr2u_read,
    ("GET", "/CustomerRefundNotes"): snr2u_read,
    ("GET", VODO + "/{invoice_id}"): vodo_list,
    ("GET", INTERNOM): internom_read,
    ("POST", VODO + "/{invoice_id}"): vodo,
    ("POST", VODO): vodo,
    ("POST", VODO + "/"): vodo,
    ("POST", CRM_LOGIN): crm_login_route,
    ("POST", CRM_CREATE): crm_create_route,
    ("GET", CRM_SHOW): crm_show_route,
    ("GET", CRM_LIST): crm_list_route,
    ("POST", CRM_UPDATE): crm_change_route,
    ("POST", CRM_REJECT): crm_change_route,
    ("POST", BEANS): beans,
    ("POST", BEANS_LOOKUP): beans_read,
    ("POST", BEANS_CANCEL): beans_read,
    ("POST", "/{words}"): beans,
    ("POST", SNR2U): snr2u,
    ("POST", SNR2U + ".json"): snr2u,
    ("POST", SNR2U + ".jsv"): snr2u,
}


def test_the_mass_assignment_table_covers_every_route(app):
    assert_table_covers_routes(app, MASS)


@pytest.mark.parametrize("route", sorted(MASS), ids=" ".join)
def test_server_owned_fields_are_refused_or_ignored(world, route):
    MASS[route](world, route)
