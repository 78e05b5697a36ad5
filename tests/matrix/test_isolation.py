"""Tenant isolation across every route of the native API and every door (issue 4, item 7; R19).

Two sides, A and B, built with the same builders (``matrix_kit.build_side``): a native tenant and
one tenant per door on each side. A's credentials are sent with B's ids, in paths and in bodies,
on every route; the table ``ISOLATION`` has one row per route of the app
(``test_the_isolation_table_covers_every_route`` fails when a route has none).

What "B's id" is answered with:

* native paths: ``404 not_found``;
* native body references: ``422 <invoice|customer|product|location>_not_found`` (the README's
  documented code for a reference in a body), ``line_not_found`` for a product not on A's invoice,
  ``customer_mismatch`` for a customer that is not A's invoice's;
* creating an object under a code B uses: ``201`` (a code in use elsewhere is no conflict, so a
  409 cannot reveal that B has it);
* Internom: ``404 customer_not_found / product_not_found / location_not_found`` (its envelope);
* Vodo (its document has no 404): ``422 invoice_not_found / pos_session_not_found /
  line_not_found`` in its envelope;
* CRM.COM: ``404 NOT_FOUND`` for ``refunds/show``, ``422 CUSTOMER_NOT_FOUND`` for an account
  identifier in ``refunds/create``;
* BeansBooks (HTTP 200 for every refusal, by design): ``success: false``, ``error_code
  invoice_not_found``;
* SnR2U: ``404 invoice_not_found / location_not_found``, ``400 customer_mismatch /
  line_not_found / unknown_payment_method``;

and in every case exactly what an id that exists nowhere gets (``assert_same_as_missing``), with
none of B's own values in the body (``assert_no_leak``), and nothing written in B.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from matrix_kit import (
    BEANS, BEANS_ANY_CASE, BEANS_CANCEL, BEANS_LOOKUP, CRM_CREATE, CRM_LOGIN, CRM_SHOW, INTERNOM, SNR2U, VODO, Api, Req, assert_no_leak,
    assert_same_as_missing, assert_table_covers_routes, assert_unchanged, bearer, beans_body, beans_read_body, beans_req, beans_sales,
    build_side, crm_body, crm_create, crm_login, crm_show, internom_body, internom_req, markers, missing_id, ok,
    problem, refund_ids, side_views, snapshot, snr2u_answer, snr2u_note, snr2u_req, tenant_ids, token_with,
    vodo_form, vodo_req,
)
from salesrefund.seeds import crmcom as crm_seed
from salesrefund.seeds import snr2u as snr2u_seed
from salesrefund.seeds import vodo as vodo_seed
from salesrefund.service import views
from salesrefund.store import tables as t


@pytest.fixture(scope="module")
def world(client, engine, clock):
    a = build_side(client, engine, clock, "a")
    b = build_side(client, engine, clock, "b")
    # B-only payout numbers: B posts three more payouts than A ever does in this module
    for amount in ("1.00", "1.01", "1.02"):
        ok(crm_create(crm_body(b.crm.session, amount=amount)).send(client))
    b.crm.only_number = ok(crm_create(crm_body(b.crm.session, amount="1.03")).send(client))["data"]["number"]
    va, vb = side_views(a), side_views(b)
    dup = set(vars(b.native.dup).values())  # A creates objects under these codes too, on purpose
    b_only = {m for m in markers(vb, va) if not any(code in m for code in dup)}
    # the leak check is only as good as its markers: B's names, tax numbers, amounts and ids are in
    assert {f"Customer {b.native.tag}", f"TX-{b.native.tag}", "81.89", b.native.posted["id"], b.crm.account_name,
            b.crm.payout["id"], f"Beans customer {b.beans.tag}", f"SnR2U customer {b.snr2u.tag}"} <= b_only
    return SimpleNamespace(a=a, b=b, b_only=b_only, client=client, engine=engine, clock=clock)


class Probe:
    """Sends pairs of requests with A's credentials: one naming B's ids, one naming ids that exist
    nowhere, and checks they are answered alike, with nothing of B, and B unchanged."""

    def __init__(self, world):
        self.w, self.client, self.engine = world, world.client, world.engine
        self.b_before = snapshot(self.engine, tenant_ids(world.b))

    def pair(self, foreign: Req, missing: Req, foreign_ids: list[str], missing_ids: list[str], auth=None):
        r1 = foreign.send(self.client, auth)
        r2 = missing.send(self.client, auth)
        assert_same_as_missing(r1, r2, foreign_ids, missing_ids)
        assert_no_leak(r1, self.w.b_only, foreign)
        return r1

    def one(self, req: Req, auth=None):
        response = req.send(self.client, auth)
        assert_no_leak(response, self.w.b_only, req)
        return response

    def done(self) -> None:
        """Every row of every B tenant is as it was (the global counts move with A's own writes)."""
        after = snapshot(self.engine, tenant_ids(self.w.b))
        assert_unchanged({**self.b_before, "counts": {}}, {**after, "counts": {}}, "B after A's requests")


# -- native API --------------------------------------------------------------------------------------

def _a(w):
    return w.a.native, bearer(w.a.native.token)


def native_create_under_b_codes(w, route):
    """Creating in A with a code B uses succeeds like any new code: B's codes are not "taken"."""
    n, auth = _a(w)
    p, dup, fresh = Probe(w), w.b.native.dup, missing_id("NEW")
    body_of = {
        ("POST", "/v1/customers"): lambda code: {"code": code, "name": "Made by A"},
        ("POST", "/v1/products"): lambda code: {"code": code, "name": "Made by A"},
        ("POST", "/v1/locations"): lambda code: {"code": code, "name": "Made by A"},
    }[route]
    foreign_code = {("POST", "/v1/customers"): dup.customer, ("POST", "/v1/products"): dup.product,
                    ("POST", "/v1/locations"): dup.location}[route]
    response = p.pair(Req(*route, json=body_of(foreign_code)), Req(*route, json=body_of(fresh)),
                      [foreign_code], [fresh], auth)
    assert response.status_code == 201 and response.json()["name"] == "Made by A"
    if route == ("POST", "/v1/products"):  # B's barcodes are no conflict either
        for barcode in (w.b.native.barcode, dup.barcode):
            code = missing_id("BCP")
            ok(Req(*route, json={"code": code, "name": "A", "barcodes": [barcode]}).send(w.client, auth), 201)
    if route == ("POST", "/v1/customers"):
        assert ok(n.api.get(f"/v1/customers/{dup.customer}"))["name"] == "Made by A"
    p.done()


def native_get_by_code(w, route):
    n, auth = _a(w)
    p, b = Probe(w), w.b
    codes = {
        ("GET", "/v1/customers/{code}"): ("customers", [b.native.customer, f"IC-{b.internom.tag}", f"VC-{b.vodo.tag}",
                                                        b.crm.account, b.beans.customer, b.snr2u.customer]),
        ("GET", "/v1/products/{code}"): ("products", [b.native.book, b.native.mug, b.native.wrap, b.internom.product,
                                                      b.vodo.product, b.snr2u.stock]),
        ("GET", "/v1/invoices/{number}"): ("invoices", [b.native.invoice, b.native.unpaid, b.native.cap, b.vodo.invoice,
                                                        str(b.beans.sale), b.snr2u.invoice]),
    }[route][1]
    base = route[1].split("{")[0]
    for code in codes:
        miss = missing_id()
        response = p.pair(Req("GET", base + code), Req("GET", base + miss), [code], [miss], auth)
        problem(response, 404, "not_found")
    if route == ("GET", "/v1/customers/{code}"):  # a code both have is A's own
        shared = ok(p.one(Req("GET", "/v1/customers/SHARED"), auth))
        assert shared["name"] == f"Shared customer of {n.tag}"
    p.done()


def native_invoice_create(w, route):
    n, auth = _a(w)
    p, b, a_before = Probe(w), w.b.native, None

    def body(number, customer=None, product=None, location=None):
        line = {"product": product or n.wrap, "quantity": "1", "unit_price": "1.00", "tax_rate": "0"}
        return {"number": number, "customer": customer or n.customer, "date": "2026-06-10",
                "lines": [line], **({"location": location} if location else {})}

    fresh = missing_id("INV")
    response = p.pair(Req(*route, json=body(b.dup.invoice)), Req(*route, json=body(fresh)), [b.dup.invoice], [fresh],
                      auth)
    assert response.status_code == 201
    a_before = snapshot(w.engine, [n.id])
    number = missing_id("INV")
    for kind, foreign, code in (("customer", b.customer, "customer_not_found"),
                                ("product", b.book, "product_not_found"),
                                ("location", b.location, "location_not_found")):
        miss = missing_id()
        response = p.pair(Req(*route, json=body(number, **{kind: foreign})), Req(*route, json=body(number, **{kind: miss})),
                          [foreign], [miss], auth)
        problem(response, 422, code)
    foreign, miss = w.b.snr2u.method, missing_id()  # a payment method only a B tenant has
    paid = lambda method: {**body(number), "payments": [{"method": method, "amount": "1.00"}]}  # noqa: E731
    problem(p.pair(Req(*route, json=paid(foreign)), Req(*route, json=paid(miss)), [foreign], [miss], auth), 422,
            "unknown_payment_method")
    assert_unchanged(a_before, snapshot(w.engine, [n.id]), "A after refused invoices")
    p.done()


def native_refund_bodies(w, route):
    """B's invoice, customer, location and product inside a refund (or preview) body."""
    n, auth = _a(w)
    p, b = Probe(w), w.b.native
    a_before = snapshot(w.engine, [n.id])
    cases = [
        (lambda x: {"invoice": x, "lines": [{"line": 1, "quantity": "1"}]},
         [b.invoice, b.unpaid, b.cap, w.b.vodo.invoice, str(w.b.beans.sale), w.b.snr2u.invoice], "invoice_not_found"),
        (lambda x: {"invoice": n.invoice, "customer": x, "lines": [{"line": 1, "quantity": "1"}]},
         [b.customer, w.b.crm.account], "customer_mismatch"),
        (lambda x: {"invoice": n.invoice, "lines": [{"line": 1, "quantity": "1", "location": x}]},
         [b.location, w.b.snr2u.location], "location_not_found"),
        (lambda x: {"invoice": n.invoice, "location": x, "lines": [{"line": 1, "quantity": "1"}]},
         [b.location], "location_not_found"),
        (lambda x: {"invoice": n.invoice, "lines": [{"product": x, "quantity": "1"}]},
         [b.book, b.mug], "line_not_found"),
        (lambda x: {"customer": x, "lines": [{"amount": "1.00", "description": "goodwill"}]},
         [b.customer, w.b.crm.account], "customer_not_found"),
        (lambda x: {"invoice": n.invoice, "lines": [{"line": 1, "quantity": "1"}],
                    "payments": [{"method": x, "amount": "11.50"}]}, [w.b.snr2u.method], "unknown_payment_method"),
    ]
    for build, foreign_ids, code in cases:
        for foreign in foreign_ids:
            miss = missing_id()
            response = p.pair(Req(*route, json=build(foreign)), Req(*route, json=build(miss)), [foreign], [miss], auth)
            problem(response, 422, code)
    assert_unchanged(a_before, snapshot(w.engine, [n.id]), "A after refused refunds")
    p.done()


def native_filtered_lists(w, route):
    """A list filtered by B's id is empty, exactly like one filtered by an id that exists nowhere."""
    n, auth = _a(w)
    p, b = Probe(w), w.b.native
    filters = {
        ("GET", "/v1/invoices"): [("customer", b.customer)],
        ("GET", "/v1/refunds"): [("invoice", b.invoice), ("invoice", b.unpaid), ("customer", b.customer)],
        ("GET", "/v1/stock"): [("product", b.book), ("product", b.mug), ("location", b.location)],
    }[route]
    for name, foreign in filters:
        miss = missing_id()
        response = p.pair(Req("GET", route[1], params={name: foreign}), Req("GET", route[1], params={name: miss}),
                          [foreign], [miss], auth)
        assert ok(response)["items"] == []
    p.done()


def native_refund_by_id(w, route):
    """Every refund and payout id of every B tenant, in the path of every refund route."""
    n, auth = _a(w)
    p = Probe(w)
    a_before = snapshot(w.engine, [n.id])
    method, template = route
    body = {("POST", "/v1/refunds/{refund_id}/void"): {"reason": "x"},
            ("PATCH", "/v1/refunds/{refund_id}"): {"reason": "x"}}.get(route)
    miss = str(uuid.uuid4())
    for refund_id in refund_ids(w.b):
        foreign = Req(method, template.replace("{refund_id}", refund_id), json=body)
        missing = Req(method, template.replace("{refund_id}", miss), json=body)
        problem(p.pair(foreign, missing, [refund_id], [miss], auth), 404, "not_found")
    if route == ("PATCH", "/v1/refunds/{refund_id}"):  # B's codes inside a patch of A's own draft
        path = f"/v1/refunds/{n.draft['id']}"
        for patch_of, foreign, code in (
                (lambda x: {"location": x}, w.b.native.location, "location_not_found"),
                (lambda x: {"lines": [{"line": 2, "quantity": "1", "location": x}]}, w.b.native.location,
                 "location_not_found"),
                (lambda x: {"lines": [{"product": x, "quantity": "1"}]}, w.b.native.mug, "line_not_found"),
                (lambda x: {"payments": [{"method": x, "amount": "1.00"}]}, w.b.snr2u.method,
                 "unknown_payment_method")):
            miss = missing_id()
            problem(p.pair(Req("PATCH", path, json=patch_of(foreign)), Req("PATCH", path, json=patch_of(miss)),
                           [foreign], [miss], auth), 422, code)
    assert_unchanged(a_before, snapshot(w.engine, [n.id]), "A after B's refund ids")
    p.done()


def _db(w, table, tenant_id, *columns):
    with w.engine.connect() as conn:
        return conn.execute(select(*columns).where(table.c.tenant_id == tenant_id)).all()


def native_journal(w, route):
    n, auth = _a(w)
    p = Probe(w)
    shown = ok(p.one(Req("GET", "/v1/journal", params={"limit": 200}), auth))
    own = {views.public_number("journal", n.id, row[0])  # ids as shown (issue 10: not the global row ids)
           for row in _db(w, t.journal_entries, n.id, t.journal_entries.c.id)}
    assert {e["id"] for e in shown["items"]} == own and shown["next"] is None
    p.done()


def native_trial_balance(w, route):
    n, auth = _a(w)
    p = Probe(w)
    shown = ok(p.one(Req("GET", "/v1/ledger/trial-balance"), auth))
    lines = _db(w, t.journal_lines, n.id, t.journal_lines.c.debit_minor, t.journal_lines.c.credit_minor)
    assert shown["total_debit"] == f"{sum(d for d, _ in lines) / 100:.2f}"
    assert shown["total_credit"] == f"{sum(c for _, c in lines) / 100:.2f}"
    p.done()


def native_stock_receipt(w, route):
    n, auth = _a(w)
    p, b = Probe(w), w.b.native
    a_before = snapshot(w.engine, [n.id])
    for body_of, foreign, code in ((lambda x: {"product": x, "quantity": "1"}, b.book, "product_not_found"),
                                   (lambda x: {"product": n.book, "quantity": "1", "location": x}, b.location,
                                    "location_not_found")):
        miss = missing_id()
        problem(p.pair(Req(*route, json=body_of(foreign)), Req(*route, json=body_of(miss)), [foreign], [miss], auth),
                422, code)
    assert_unchanged(a_before, snapshot(w.engine, [n.id]), "A after refused receipts")
    p.done()


def native_periods(w, route):
    """A's periods are A's: closing and reopening in A leaves B's closed periods as they were."""
    n, auth = _a(w)
    p = Probe(w)
    if route == ("GET", "/v1/periods"):
        shown = ok(p.one(Req("GET", "/v1/periods"), auth))
        assert shown["closed_through"] == n.closed_through == "2026-04-30"
        status = {item["period"]: item["status"] for item in shown["items"]}
        assert (status["2026-04"], status["2026-05"]) == ("closed", "open")  # B has May partially closed
    elif route == ("POST", "/v1/periods/close"):
        assert ok(p.one(Req(*route, json={"through": "2026-05-31"}), auth))["closed_through"] == "2026-05-31"
        assert ok(p.one(Req("POST", "/v1/periods/reopen", json={"from": "2026-05-01"}), auth))["closed_through"] \
            == "2026-04-30"
    else:
        assert ok(p.one(Req(*route), auth))["closed_through"] is None
        assert ok(p.one(Req("POST", "/v1/periods/close", json={"through": "2026-04-30"}), auth))["closed_through"] \
            == "2026-04-30"
    assert ok(w.b.native.api.get("/v1/periods"))["closed_through"] == "2026-05-10"
    p.done()


def native_backoffice(w, route):
    """Issue 12's lists, settings and door credentials: A sees and changes only A's."""
    n, auth = _a(w)
    p, b = Probe(w), w.b
    method, path = route
    if route == ("GET", "/v1/locations/{code}"):
        miss = missing_id()
        problem(p.pair(Req("GET", f"/v1/locations/{b.native.location}"), Req("GET", f"/v1/locations/{miss}"),
                       [b.native.location], [miss], auth), 404, "not_found")
    elif route == ("GET", "/v1/products"):
        shown = ok(p.one(Req("GET", path, params={"limit": 200}), auth))
        assert n.book in {item["code"] for item in shown["items"]}
        miss = missing_id()
        assert ok(p.pair(Req("GET", path, params={"barcode": b.native.barcode}),
                         Req("GET", path, params={"barcode": miss}), [b.native.barcode], [miss], auth))["items"] == []
    elif route == ("GET", "/v1/customers"):
        shown = ok(p.one(Req("GET", path, params={"limit": 200}), auth))
        assert n.customer in {item["code"] for item in shown["items"]}
        miss = missing_id()
        assert ok(p.pair(Req("GET", path, params={"q": f"TX-{b.native.tag}"}), Req("GET", path, params={"q": miss}),
                         [f"TX-{b.native.tag}"], [miss], auth))["items"] == []
    elif method == "GET" and path in ("/v1/locations", "/v1/payment-methods", "/v1/doors/credentials"):
        ok(p.one(Req("GET", path), auth))
    elif path == "/v1/settings":
        body = {"allow_unlinked_refunds": False} if method == "PATCH" else None
        assert ok(p.one(Req(method, path, json=body), auth))["tenant"] == n.name
    elif route == ("POST", "/v1/doors/credentials"):
        made = ok(p.one(Req("POST", path, json={"door": "snr2u", "login": missing_id("K")}), auth), 201)
        assert made["secret"]
    else:  # DELETE: B's door credentials are answered like ones that exist nowhere
        d = t.door_credentials.c
        with w.engine.connect() as conn:
            foreign = [str(i) for i in conn.execute(select(d.id).where(d.tenant_id.in_(tenant_ids(b)))).scalars()]
        assert foreign
        miss = str(10**9 + int(uuid.uuid4().hex[:5], 16))
        missing = problem(p.one(Req("DELETE", f"/v1/doors/credentials/{miss}"), auth), 404, "not_found")
        for credential in foreign:  # short numeric ids: compared field by field, not by text replacement
            answer = problem(p.one(Req("DELETE", f"/v1/doors/credentials/{credential}"), auth), 404, "not_found")
            assert answer["detail"].replace(credential, "<ID>") == missing["detail"].replace(miss, "<ID>")
    p.done()


# -- the doors ----------------------------------------------------------------------------------------

def _internom_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["errors"][0]["code"] == code, body


def internom(w, route):
    a, b = w.a.internom, w.b.internom
    p = Probe(w)
    a_before = snapshot(w.engine, [a.id])
    cases = [("tax", b.tax, "customer_not_found"), ("branch", b.branch, "location_not_found"),
             ("product", b.barcode, "product_not_found"), ("product", b.product, "product_not_found")]
    for field, foreign, code in cases:
        miss, reference = missing_id(), missing_id("REF")
        foreign_req = internom_req(a.token, internom_body(reference, **{field: foreign}))
        missing_req = internom_req(a.token, internom_body(reference, **{field: miss}))
        _internom_error(p.pair(foreign_req, missing_req, [foreign], [miss]), 404, code)
    assert_unchanged(a_before, snapshot(w.engine, [a.id]), "A after B's Internom ids")
    p.done()


def internom_read(w, route):
    """B's references and reference ids are answered like ones that exist nowhere (issue 13)."""
    a, b = w.a.internom, w.b.internom
    foreign_ref = missing_id("REF")
    assert ok(internom_req(b.token, internom_body(foreign_ref, f"rid-{foreign_ref}")).send(w.client))["status"] == "success"
    p = Probe(w)
    for field, foreign in (("reference", foreign_ref), ("reference_id", f"rid-{foreign_ref}")):
        miss = missing_id("REF")
        foreign_req = Req("GET", INTERNOM, params={field: foreign}, headers=bearer(a.token))
        missing_req = Req("GET", INTERNOM, params={field: miss}, headers=bearer(a.token))
        _internom_error(p.pair(foreign_req, missing_req, [foreign], [miss]), 404, "not_found")
    p.done()


def _vodo_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] is False and body["data"] is None and body["errors"][0]["code"] == code, body


def vodo(w, route):
    a, b = w.a.vodo, w.b.vodo
    p = Probe(w)
    a_before = snapshot(w.engine, [a.id])
    miss = str(9_000_000 + int(uuid.uuid4().hex[:5], 16))
    _vodo_error(p.pair(vodo_req(a.headers, b.invoice, vodo_form()), vodo_req(a.headers, miss, vodo_form()),
                       [b.invoice], [miss]), 422, "invoice_not_found")
    for form_of, foreign, code in (
            (lambda x: vodo_form(pos=x), b.pos, "pos_session_not_found"),
            (lambda x: vodo_form(session=x), b.session, "pos_session_not_found"),
            (lambda x: vodo_form(item_id=x, price=""), b.product, "line_not_found")):
        miss = missing_id()
        _vodo_error(p.pair(vodo_req(a.headers, vodo_seed.INVOICE, form_of(foreign)),
                           vodo_req(a.headers, vodo_seed.INVOICE, form_of(miss)), [foreign], [miss]), 422, code)
    assert_unchanged(a_before, snapshot(w.engine, [a.id]), "A after B's Vodo ids")
    p.done()


def vodo_without_invoice(w, route):
    """The paths without an invoice id hold no tenant data: A and B are answered alike."""
    p = Probe(w)
    path = route[1]
    mine = p.one(vodo_req(w.a.vodo.headers, None, vodo_form(), path=path))
    theirs = vodo_req(w.b.vodo.headers, None, vodo_form(), path=path).send(w.client)
    _vodo_error(mine, 422, "validation_error")
    assert mine.json() == theirs.json()
    p.done()


def _crm_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None and body["status"]["code"] == code, body


def crm_login_route(w, route):
    """A login opens a session of its own tenant: it sees A's payout under the number both have."""
    a = w.a.crm
    p = Probe(w)
    token = crm_login(w.client, a.username)
    shown = ok(p.one(crm_show(token, f"number={a.payout['number']}")))["data"]
    assert shown["id"] == a.payout["id"] != w.b.crm.payout["id"]
    _crm_error(p.one(Req("POST", CRM_LOGIN, json={"username": a.username, "password": "1234",
                                                  "organisation": f"ORG-{w.b.crm.tag}"})), 401, "AUTHENTICATION_FAILED")
    p.done()


def crm_create_route(w, route):
    a, b = w.a.crm, w.b.crm
    p = Probe(w)
    a_before = snapshot(w.engine, [a.id], skip=("door_sessions",))
    for field, foreign in (("number", b.account), ("id", b.account_id), ("id", b.main_account_id),
                           ("name", b.account_name), ("alternative_code", b.account_tax)):
        miss = missing_id() if field != "id" else str(10**12 + int(uuid.uuid4().hex[:6], 16))
        response = p.pair(crm_create(crm_body(a.session, account={field: foreign})),
                          crm_create(crm_body(a.session, account={field: miss})), [foreign], [miss])
        _crm_error(response, 422, "CUSTOMER_NOT_FOUND")
    assert_unchanged(a_before, snapshot(w.engine, [a.id], skip=("door_sessions",)), "A after B's accounts")
    p.done()


def crm_show_route(w, route):
    a, b = w.a.crm, w.b.crm
    p = Probe(w)
    for form, foreign in (("id={}", b.payout["id"]), ("id={}", b.draft["id"]), ("id={}", b.seed_refund["id"]),
                          ("{}", b.payout["id"]), ('{{"id": "{}"}}', b.payout["id"]), ("number={}", b.only_number),
                          ("{}", b.only_number), ("id={}", w.b.native.posted["id"])):
        miss = str(uuid.uuid4()) if "number" not in form and not foreign.startswith("PO-") else "PO-2026-999999"
        response = p.pair(crm_show(a.session, form.format(foreign)), crm_show(a.session, form.format(miss)),
                          [foreign], [miss])
        _crm_error(response, 404, "NOT_FOUND")
    p.done()


CRM_LIST = CRM_SHOW.replace("/show", "/list")  # GET refunds/list (issue 13)


def crm_list_route(w, route):
    """B's accounts (by id, number, name, tax number) are answered like accounts that exist nowhere;
    the account number both tenants have lists A's own payouts only."""
    a, b = w.a.crm, w.b.crm
    p = Probe(w)
    for form, foreign in (("id={}", b.account_id), ("id={}", b.main_account_id), ("number={}", b.account),
                          ("{}", b.account), ("name={}", b.account_name), ("alternative_code={}", b.account_tax)):
        miss = missing_id("ACR") if not form.startswith("id=") else "987654321"
        def req(value):
            return Req("GET", CRM_LIST, params={"token": a.session, "accounts_receivable_identifier": form.format(value)})
        _crm_error(p.pair(req(foreign), req(miss), [foreign], [miss]), 422, "CUSTOMER_NOT_FOUND")
    shared = p.one(Req("GET", CRM_LIST, params={"token": a.session, "accounts_receivable_identifier": "number=" +
                                                crm_seed.ACCOUNT}))
    ids = {item["id"] for item in ok(shared)["data"]}
    assert a.payout["id"] in ids and b.payout["id"] not in ids
    p.done()


CRM_UPDATE = CRM_SHOW.replace("/show", "/update")  # POST refunds/update (issue 13)
CRM_REJECT = CRM_SHOW.replace("/show", "/reject")  # POST refunds/reject (issue 13)


def crm_change_route(w, route):
    """B's drafts, payouts and refunds, by id or number, answer like ones that exist nowhere, and
    stay as they were (B's draft is neither posted nor rejected)."""
    a, b = w.a.crm, w.b.crm
    p = Probe(w)
    b_before = snapshot(w.engine, [b.id], skip=("door_sessions",))
    for key, foreign in (("id", b.draft["id"]), ("id", b.payout["id"]), ("id", b.seed_refund["id"]),
                         ("number", b.only_number), ("id", w.b.native.posted["id"])):
        miss = str(uuid.uuid4()) if key == "id" else "PO-2026-999999"

        def req(value):
            body = {"token": a.session, "refund_identifier": {key: value}}
            if route[1] == CRM_UPDATE:
                body["life_cycle_state"] = "POSTED"
            return Req("POST", route[1], json=body)
        _crm_error(p.pair(req(foreign), req(miss), [foreign], [miss]), 404, "NOT_FOUND")
    assert_unchanged(b_before, snapshot(w.engine, [b.id], skip=("door_sessions",)), "B after A's update or reject")
    p.done()


def _beans_refused(response, code):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is False and body["error_code"] == code and body["error"], body


def beans(w, route):
    a, b = w.a.beans, w.b.beans
    p = Probe(w)
    path = BEANS if route[1] == BEANS else BEANS_ANY_CASE
    a_before = snapshot(w.engine, [a.id])
    miss = 990_000_000 + int(uuid.uuid4().hex[:4], 16)
    response = p.pair(beans_req(beans_body(a.cred, b.sale), path=path), beans_req(beans_body(a.cred, miss), path=path),
                      [str(b.sale)], [str(miss)])
    _beans_refused(response, "invoice_not_found")
    assert_unchanged(a_before, snapshot(w.engine, [a.id]), "A after B's sale")
    p.done()


def _b_only_beans_refund(w) -> int:
    """The id (``data.sale.id``) of a refund of B's BeansBooks tenant whose credit-note number A's
    tenant does not have (each tenant numbers its own credit notes, so B's first id is A's too)."""
    a, b = w.a.beans, w.b.beans
    taken = {r["number"] for r in ok(a.admin.get("/v1/refunds", limit=200))["items"]}
    for _ in range(60):
        sale = 700_000_000 + int(uuid.uuid4().hex[:6], 16)
        beans_sales(w.engine, w.clock, b.id, [sale], customer=b.customer)
        made = ok(beans_req(beans_body(b.cred, sale)).send(w.client))["data"]["sale"]
        if made["credit_note"]["number"] not in taken:
            return made["id"]
    raise AssertionError("B never got a credit-note number A does not have")


def beans_read(w, route):
    """A's lookup or cancel of B's refund is answered like an id that exists nowhere; B's refund
    stays posted (issue 13)."""
    a = w.a.beans
    foreign = _b_only_beans_refund(w)
    p = Probe(w)
    a_before = snapshot(w.engine, [a.id])
    miss = 2026_900_000 + int(uuid.uuid4().hex[:4], 16)
    response = p.pair(beans_req(beans_read_body(a.cred, foreign), path=route[1]),
                      beans_req(beans_read_body(a.cred, miss), path=route[1]), [str(foreign)], [str(miss)])
    _beans_refused(response, "not_found")
    assert_unchanged(a_before, snapshot(w.engine, [a.id]), "A after naming B's refund")
    p.done()


def _snr2u_error(response, status, code):
    assert response.status_code == status, response.text
    body = snr2u_answer(response)
    assert body["ResponseStatus"]["ErrorCode"] == code, body


def snr2u(w, route):
    a, b = w.a.snr2u, w.b.snr2u
    p = Probe(w)
    path = route[1]
    # a rule rejection is stored under A's own refund note number (R17, documented): A's
    # idempotency keys are the one thing these requests may add
    a_before = snapshot(w.engine, [a.id], skip=("idempotency_keys",))
    cases = [("invoice", b.invoice, 404, "invoice_not_found"), ("location", b.location, 404, "location_not_found"),
             ("customer", b.customer, 400, "customer_mismatch"), ("stock", b.stock, 400, "line_not_found"),
             ("method", b.method, 400, "unknown_payment_method")]
    for field, foreign, status, code in cases:
        miss = missing_id()
        mids = [f"RN-{uuid.uuid4().hex[:12]}" for _ in range(2)]
        response = p.pair(snr2u_req(a.key, snr2u_note(mids[0], **{field: foreign}), path=path),
                          snr2u_req(a.key, snr2u_note(mids[1], **{field: miss}), path=path),
                          [foreign, mids[0]], [miss, mids[1]])
        _snr2u_error(response, status, code)
    assert_unchanged(a_before, snapshot(w.engine, [a.id], skip=("idempotency_keys",)), "A after B's SnR2U ids")
    p.done()


def native_documents(w, route):
    """Documents (issue 11): B's refunds, customers and invoices answer 404 like missing ones; A's
    seller details are A's own (setting them leaves B's as they were)."""
    n, auth = _a(w)
    p, b = Probe(w), w.b
    method, template = route
    if "{code}" in template or "{number}" in template:
        key, body, codes = (("{code}", {"city": "Elsewhere"}, [b.native.customer, b.snr2u.customer])
                            if "{code}" in template else
                            ("{number}", {"myinvois_uuid": "F9D425P6DS7D8IU"}, [b.native.invoice, b.snr2u.invoice]))
        a_before = snapshot(w.engine, [n.id])
        for code in codes:
            miss = missing_id()
            problem(p.pair(Req(method, template.replace(key, code), json=body),
                           Req(method, template.replace(key, miss), json=body), [code], [miss], auth), 404, "not_found")
        assert_unchanged(a_before, snapshot(w.engine, [n.id]), "A after B's codes")
    else:
        b_seller = ok(Req("GET", "/v1/seller").send(w.client, bearer(b.native.token)))
        if method == "PUT":
            ok(p.one(Req("PUT", "/v1/seller", json={"legal_name": f"Seller {n.tag}"}), auth))
        shown = ok(p.one(Req("GET", "/v1/seller"), auth))
        assert b.native.tag not in str(shown) and b.native.name not in str(shown)
        assert ok(Req("GET", "/v1/seller").send(w.client, bearer(b.native.token))) == b_seller
# -- events and webhooks (issue 13) ---------------------------------------------------------------------

HOOK_URL = "https://93.184.216.34/hooks"


def _b_hooks_and_events(w) -> tuple[list[str], list[str]]:
    b = w.b.native.api
    if not getattr(w, "b_hooks", None):
        w.b_hooks = [ok(b.post("/v1/webhooks", {"url": HOOK_URL, "events": ["refund.posted"]}), 201)["id"]]
    return w.b_hooks, [e["id"] for e in ok(b.get("/v1/events", limit=5))["items"]]


def native_event_or_webhook_by_id(w, route):
    """B's webhook and event ids in every path that takes one are answered like ids that exist nowhere."""
    hooks, events = _b_hooks_and_events(w)
    n, auth = _a(w)
    p = Probe(w)
    method, template = route
    name = "{webhook_id}" if "{webhook_id}" in template else "{event_id}"
    for foreign_id in hooks if name == "{webhook_id}" else events:
        miss = ("evt_" if name == "{event_id}" else "") + uuid.uuid4().hex
        problem(p.pair(Req(method, template.replace(name, foreign_id)), Req(method, template.replace(name, miss)),
                       [foreign_id], [miss], auth), 404, "not_found")
    p.done()


def native_event_lists(w, route):
    """A's webhook and event lists, a new endpoint and a replay hold nothing of B."""
    hooks, events = _b_hooks_and_events(w)
    n, auth = _a(w)
    p = Probe(w)
    if route == ("POST", "/v1/webhooks"):
        response = p.one(Req("POST", "/v1/webhooks", json={"url": HOOK_URL, "events": ["refund.posted"]}), auth)
    elif route == ("POST", "/v1/events/replay"):
        response = p.one(Req("POST", "/v1/events/replay", json={"from": "2000-01-01", "to": "2100-01-01"}), auth)
        own = len(ok(n.api.get("/v1/events", limit=200))["items"])
        assert ok(response)["events"] == own
    else:
        response = p.one(Req("GET", route[1], params={"limit": 200}), auth)
    assert response.status_code in (200, 201), response.text
    assert not any(i in response.text for i in hooks + events)
    p.done()


def snr2u_read(w, route):
    """B's refund note numbers and invoice numbers are answered like ones that exist nowhere (issue 13)."""
    a, b = w.a.snr2u, w.b.snr2u
    p = Probe(w)
    if route[1].endswith("{AcCusRefundNoteMID}"):
        miss = f"RN-{uuid.uuid4().hex[:12]}"
        foreign = f"RN-{b.tag}"
        _snr2u_error(p.pair(Req("GET", f"/CustomerRefundNotes/{foreign}", headers=bearer(a.key)),
                            Req("GET", f"/CustomerRefundNotes/{miss}", headers=bearer(a.key)), [foreign], [miss]),
                     404, "not_found")
    else:
        for name, foreign in (("AcCusInvoiceMID", b.invoice), ("AcCustomerID", b.customer),
                              ("AcLocationID", b.location)):
            miss = missing_id()
            response = p.pair(Req("GET", "/CustomerRefundNotes", params={name: foreign}, headers=bearer(a.key)),
                              Req("GET", "/CustomerRefundNotes", params={name: miss}, headers=bearer(a.key)),
                              [foreign], [miss])
            assert response.status_code == 200 and snr2u_answer(response)["Total"] == 0, response.text
    p.done()


def vodo_list(w, route):
    """B's invoice is not found, like one that exists nowhere (issue 13)."""
    a, b = w.a.vodo, w.b.vodo
    p = Probe(w)
    miss = str(9_000_000 + int(uuid.uuid4().hex[:5], 16))
    _vodo_error(p.pair(Req("GET", f"{VODO}/{b.invoice}", headers=a.headers),
                       Req("GET", f"{VODO}/{miss}", headers=a.headers), [b.invoice], [miss]), 404, "invoice_not_found")
    p.done()


ISOLATION = {
    ("GET", "/CustomerRefundNotes/{AcCusRefundNoteMID}"): snr2u_read,
    ("GET", "/CustomerRefundNotes"): snr2u_read,
    ("GET", VODO + "/{invoice_id}"): vodo_list,
    ("POST", "/v1/customers"): native_create_under_b_codes,
    ("GET", "/v1/customers/{code}"): native_get_by_code,
    ("POST", "/v1/products"): native_create_under_b_codes,
    ("GET", "/v1/products/{code}"): native_get_by_code,
    ("POST", "/v1/locations"): native_create_under_b_codes,
    ("POST", "/v1/invoices"): native_invoice_create,
    ("GET", "/v1/invoices"): native_filtered_lists,
    ("GET", "/v1/invoices/{number}"): native_get_by_code,
    ("POST", "/v1/refunds/preview"): native_refund_bodies,
    ("POST", "/v1/refunds"): native_refund_bodies,
    ("GET", "/v1/refunds"): native_filtered_lists,
    ("GET", "/v1/refunds/{refund_id}"): native_refund_by_id,
    ("POST", "/v1/refunds/{refund_id}/post"): native_refund_by_id,
    ("POST", "/v1/refunds/{refund_id}/void"): native_refund_by_id,
    ("PATCH", "/v1/refunds/{refund_id}"): native_refund_by_id,
    ("DELETE", "/v1/refunds/{refund_id}"): native_refund_by_id,
    ("GET", "/v1/refunds/{refund_id}/journal"): native_refund_by_id,
    ("GET", "/v1/refunds/{refund_id}/audit"): native_refund_by_id,
    ("GET", "/v1/refunds/{refund_id}/document.xml"): native_refund_by_id,
    ("GET", "/v1/refunds/{refund_id}/document.pdf"): native_refund_by_id,
    ("GET", "/v1/seller"): native_documents,
    ("PUT", "/v1/seller"): native_documents,
    ("PUT", "/v1/customers/{code}/address"): native_documents,
    ("PUT", "/v1/invoices/{number}/myinvois-uuid"): native_documents,
    ("GET", "/v1/journal"): native_journal,
    ("GET", "/v1/ledger/trial-balance"): native_trial_balance,
    ("GET", "/v1/stock"): native_filtered_lists,
    ("POST", "/v1/stock/receipts"): native_stock_receipt,
    ("GET", "/v1/periods"): native_periods,
    ("POST", "/v1/periods/close"): native_periods,
    ("POST", "/v1/periods/reopen"): native_periods,
    ("GET", "/v1/customers"): native_backoffice,
    ("GET", "/v1/products"): native_backoffice,
    ("GET", "/v1/locations"): native_backoffice,
    ("GET", "/v1/locations/{code}"): native_backoffice,
    ("GET", "/v1/payment-methods"): native_backoffice,
    ("GET", "/v1/settings"): native_backoffice,
    ("PATCH", "/v1/settings"): native_backoffice,
    ("GET", "/v1/doors/credentials"): native_backoffice,
    ("POST", "/v1/doors/credentials"): native_backoffice,
    ("DELETE", "/v1/doors/credentials/{credential_id}"): native_backoffice,
    ("POST", "/v1/webhooks"): native_event_lists,
    ("GET", "/v1/webhooks"): native_event_lists,
    ("GET", "/v1/webhooks/{webhook_id}"): native_event_or_webhook_by_id,
    ("DELETE", "/v1/webhooks/{webhook_id}"): native_event_or_webhook_by_id,
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): native_event_or_webhook_by_id,
    ("GET", "/v1/events"): native_event_lists,
    ("GET", "/v1/events/{event_id}"): native_event_or_webhook_by_id,
    ("POST", "/v1/events/replay"): native_event_lists,
    ("POST", "/v1/events/{event_id}/replay"): native_event_or_webhook_by_id,
    ("POST", INTERNOM): internom,
    ("GET", INTERNOM): internom_read,
    ("POST", VODO + "/{invoice_id}"): vodo,
    ("POST", VODO): vodo_without_invoice,
    ("POST", VODO + "/"): vodo_without_invoice,
    ("POST", CRM_LOGIN): crm_login_route,
    ("POST", CRM_CREATE): crm_create_route,
    ("GET", CRM_SHOW): crm_show_route,
    ("GET", CRM_LIST): crm_list_route,
    ("POST", CRM_UPDATE): crm_change_route,
    ("POST", CRM_REJECT): crm_change_route,
    ("POST", BEANS): beans,
    ("POST", BEANS_LOOKUP): beans_read,
    ("POST", BEANS_CANCEL): beans_read,
    ("POST", "/{words}"): beans,  # BeansBooks' path in any letter case
    ("POST", SNR2U): snr2u,
    ("POST", SNR2U + ".json"): snr2u,
    ("POST", SNR2U + ".jsv"): snr2u,
}


def test_the_isolation_table_covers_every_route(app):
    assert_table_covers_routes(app, ISOLATION)


@pytest.mark.parametrize("route", sorted(ISOLATION), ids=" ".join)
def test_b_s_ids_are_answered_like_ids_that_exist_nowhere(world, route):
    ISOLATION[route](world, route)


# -- lists and reports ----------------------------------------------------------------------------------

def _lists(api, extra: dict | None = None) -> dict:
    params = {"limit": 200, **(extra or {})}
    return {path: ok(api.get(path, **params)) for path in ("/v1/refunds", "/v1/invoices", "/v1/journal")} | {
        path: ok(api.get(path, **(extra or {}))) for path in ("/v1/ledger/trial-balance", "/v1/stock", "/v1/periods")}


def test_lists_and_reports_hold_only_the_tenants_own_rows(world):
    w, n = world, world.a.native
    shown = _lists(n.api)
    own_refunds = {r[0] for r in _db(w, t.refunds, n.id, t.refunds.c.public_id)}
    assert {r["id"] for r in shown["/v1/refunds"]["items"]} == own_refunds
    own_invoices = {r[0] for r in _db(w, t.invoices, n.id, t.invoices.c.number)}
    assert {i["number"] for i in shown["/v1/invoices"]["items"]} == own_invoices
    own_entries = {views.public_number("journal", n.id, r[0])  # as shown (issue 10)
                   for r in _db(w, t.journal_entries, n.id, t.journal_entries.c.id)}
    assert {e["id"] for e in shown["/v1/journal"]["items"]} == own_entries
    own_products = {r[0] for r in _db(w, t.products, n.id, t.products.c.code)}
    assert {s["product"] for s in shown["/v1/stock"]["items"]} <= own_products
    with w.engine.connect() as conn:
        m = t.stock_moves.c
        on_hand = conn.execute(select(func.sum(m.quantity)).where(m.tenant_id == n.id)).scalar()
    assert sum(int(s["on_hand"]) for s in shown["/v1/stock"]["items"]) == on_hand // 10_000
    for body in shown.values():
        assert_no_leak(_Text(body), w.b_only)
    # the door tenants' lists too
    for door in ("internom", "vodo", "crm", "beans", "snr2u"):
        d = getattr(w.a, door)
        items = ok(d.admin.get("/v1/refunds", limit=200))["items"]
        assert {r["id"] for r in items} == {r[0] for r in _db(w, t.refunds, d.id, t.refunds.c.public_id)}, door


def test_b_s_activity_does_not_move_a_s_lists_and_tenant_parameters_are_ignored(world):
    w, n, b = world, world.a.native, world.b.native
    before = _lists(n.api)
    # B posts, voids, invoices, receives stock and closes a period
    made = ok(b.api.post("/v1/refunds", {"invoice": b.cap, "lines": [{"line": 1, "quantity": "2"}]}), 201)
    ok(b.api.post(f"/v1/refunds/{made['id']}/void"))
    ok(b.api.post("/v1/invoices", {"number": missing_id("BINV"), "customer": b.customer, "date": "2026-06-12",
                                   "lines": [{"product": b.book, "quantity": "1", "unit_price": "3.33", "tax_rate": "15"}]}),
       201)
    ok(b.api.post("/v1/stock/receipts", {"product": b.book, "quantity": "4"}), 201)
    ok(b.api.post("/v1/periods/close", {"through": "2026-05-20"}))
    assert _lists(n.api) == before
    # naming B's tenant in the query changes nothing: the tenant is the credential's
    assert _lists(n.api, {"tenant_id": b.id, "tenant": b.name}) == before


class _Text:
    """A decoded body wrapped so ``assert_no_leak`` can read it like a response."""

    def __init__(self, body):
        import json
        self.text = json.dumps(body)
        self.request = SimpleNamespace(method="GET", url="(list)")


# -- natural keys and idempotency keys are per tenant ---------------------------------------------------

def test_the_same_keys_in_both_tenants_are_two_independent_requests(world):
    w = world
    a, b = w.a, w.b
    c = w.client
    # native: Idempotency-Key on create and on post
    key = f"mx-same-{uuid.uuid4().hex[:8]}"
    first = a.native.api.post("/v1/refunds", {"invoice": a.native.cap, "lines": [{"line": 1, "quantity": "1"}]}, key=key)
    second = b.native.api.post("/v1/refunds", {"invoice": b.native.cap, "lines": [{"line": 1, "quantity": "3"}]}, key=key)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    drafts = [ok(side.native.api.post("/v1/refunds", {"invoice": side.native.cap, "state": "draft",
                                                      "lines": [{"line": 1, "quantity": "1"}]}), 201) for side in (a, b)]
    post_key = f"mx-post-{uuid.uuid4().hex[:8]}"
    for side, draft in zip((a, b), drafts):
        posted = side.native.api.post(f"/v1/refunds/{draft['id']}/post", key=post_key)
        assert posted.status_code == 200 and "Idempotent-Replayed" not in posted.headers, posted.text
    # Internom: reference and reference_id
    reference = f"S/MX/{uuid.uuid4().hex[:8]}"
    answers = [ok(internom_req(side.internom.token, internom_body(reference, "ecom-mx-same")).send(c))
               for side in (a, b)]
    assert all(x["status"] == "success" for x in answers)
    assert answers[0]["data"]["order_ref"] != answers[1]["data"]["order_ref"]
    # Vodo: Idempotency-Key
    vkey = f"vodo-same-{uuid.uuid4().hex[:8]}"
    vodo_ids = [ok(vodo_req(side.vodo.headers, vodo_seed.INVOICE, vodo_form(), key=vkey).send(c))["data"]["uuid"]
                for side in (a, b)]
    assert vodo_ids[0] != vodo_ids[1]
    # CRM.COM: back_office_code (unique for good within a tenant, not across tenants)
    code = f"BO-SAME-{uuid.uuid4().hex[:8]}"
    payouts = [crm_create(crm_body(side.crm.session, amount="2.00", back_office_code=code)).send(c) for side in (a, b)]
    assert [r.status_code for r in payouts] == [200, 200], [r.text for r in payouts]
    assert payouts[0].json()["data"]["id"] != payouts[1].json()["data"]["id"]
    # BeansBooks: one refund per sale, and both tenants have a sale 1
    sales = [ok(beans_req(beans_body(side.beans.cred, 1)).send(c)) for side in (a, b)]
    assert all(s["success"] for s in sales), sales
    assert sales[0]["data"]["sale"]["credit_note"]["id"] != sales[1]["data"]["sale"]["credit_note"]["id"]
    # SnR2U: AcCusRefundNoteMID
    mid = f"RN-MX-{uuid.uuid4().hex[:6]}"
    made = [snr2u_req(side.snr2u.key, snr2u_note(mid)).send(c) for side in (a, b)]
    assert [r.status_code for r in made] == [200, 200], [r.text for r in made]
    notes = [snr2u_answer(r) for r in made]
    assert notes[0]["ResponseStatus"]["Meta"]["RefundId"] != notes[1]["ResponseStatus"]["Meta"]["RefundId"]
    # each tenant holds exactly its own one refund per key
    for side, refund in ((a, first.json()), (b, second.json())):
        listed = ok(side.native.api.get("/v1/refunds", limit=200))["items"]
        assert [r["id"] for r in listed if r["id"] in (first.json()["id"], second.json()["id"])] == [refund["id"]]
    for side, sale in zip((a, b), sales):
        ids = {r["id"] for r in ok(side.beans.admin.get("/v1/refunds", limit=200))["items"]}
        assert sale["data"]["sale"]["credit_note"]["id"] in ids
        assert not ({s["data"]["sale"]["credit_note"]["id"] for s in sales} - {sale["data"]["sale"]["credit_note"]["id"]}) & ids


# -- odds and ends --------------------------------------------------------------------------------------

def test_a_token_without_the_permission_gets_the_same_403_for_own_foreign_and_missing_ids(world):
    """A 403 comes from the token, never from the object: it is the same for A's id, B's id and
    an id that exists nowhere, so it reveals nothing (R19: another tenant's id is never a 403)."""
    w = world
    n = w.a.native
    token = token_with(w.engine, w.clock, n.name, "masterdata:write")["token"]
    api = Api(w.client, token)
    for template in ("/v1/refunds/{}", "/v1/refunds/{}/journal", "/v1/refunds/{}/audit"):
        answers = [api.get(template.format(i)) for i in (n.posted["id"], w.b.native.posted["id"], str(uuid.uuid4()))]
        for response in answers:
            problem(response, 403, "forbidden")
        bodies = [{k: v for k, v in r.json().items() if k != "request_id"} for r in answers]
        assert bodies[0] == bodies[1] == bodies[2]


def test_the_health_check_is_public_and_says_nothing_of_any_tenant(world):
    response = world.client.get("/healthz")
    assert ok(response)["status"] == "ok"
    assert set(response.json()) == {"status", "version", "database"}
    assert_no_leak(response, world.b_only)
