"""Regressions of the defects the contract and parser fuzzing found (issue 4, items 11 and 12;
``tests/fuzz``). Each test is the smallest request that showed the defect."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from native_kit import ok, problem, seed_books, state
from salesrefund.store import tables as t

BIG = "9999999999999"  # the largest whole value R1 allows (10^13 is refused)


# -- reopening periods from the first day there is ------------------------------------------------

def test_reopening_from_the_first_day_there_is_reopens_everything(books):
    """``POST /v1/periods/reopen {"from": "0001-01-01"}`` with a closed period answered 500
    (``date.min - 1 day`` overflowed)."""
    api = books["api"]
    ok(api.post("/v1/periods/close", {"through": "2026-05-31"}))
    periods = ok(api.post("/v1/periods/reopen", {"from": "0001-01-01"}))
    assert periods["closed_through"] is None
    assert {p["status"] for p in periods["items"]} == {"open"}


# -- the audit trail's times ------------------------------------------------------------------------

def test_audit_times_carry_their_utc_offset(books):
    """The audit trail's ``at`` was written without an offset on SQLite (``2026-06-15T10:00:00``),
    which is not the date-time the document declares, and differed from PostgreSQL's."""
    api = books["api"]
    refund = ok(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}), 201)
    audit = ok(api.get(f"/v1/refunds/{refund['id']}/audit"))
    for event in audit["items"]:
        moment = datetime.fromisoformat(event["at"])
        assert moment.utcoffset() is not None, event
    assert audit["items"][0]["at"] == refund["created_at"]


# -- a line number written as a JSON number with a zero fraction --------------------------------------

def test_a_line_number_with_a_zero_fraction_is_that_line(books):
    """``{"line": 2.0}`` is an integer in JSON Schema, so the document allowed it, but the API
    refused it ("Input should be a valid integer")."""
    api = books["api"]
    body = '{"invoice": "INV-1", "lines": [{"line": 2.0, "quantity": "1"}]}'
    response = api.client.post("/v1/refunds/preview", content=body,
                               headers={**api.headers(), "Content-Type": "application/json"})
    preview = ok(response)
    assert preview["lines"][0]["invoice_line"] == 2


@pytest.mark.parametrize("line", ["2.5", '"2"', "true", "1e999999", "NaN", "0.0"])
def test_other_line_numbers_are_still_refused(books, line):
    api = books["api"]
    body = '{"invoice": "INV-1", "lines": [{"line": %s, "quantity": "1"}]}' % line
    response = api.client.post("/v1/refunds/preview", content=body,
                               headers={**api.headers(), "Content-Type": "application/json"})
    problem(response, 422, "validation_error", "/lines/0/line")


# -- amounts beyond what the columns hold ---------------------------------------------------------------

def _rows(engine, tenant_id: int) -> dict:
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id))
                .scalar() for name, table in (("invoices", t.invoices), ("refunds", t.refunds),
                                              ("stock_moves", t.stock_moves), ("entries", t.journal_entries))}


@pytest.mark.parametrize("lines, field", [
    ([{"description": "x", "quantity": BIG, "unit_price": BIG, "tax_rate": "15"}], "/lines/0/unit_price"),
    ([{"description": "x", "quantity": "1", "unit_price": "6000000000000", "tax_rate": "0"}] * 2, "/lines"),
    ([{"description": "x", "quantity": "1", "unit_price": "9000000000000", "tax_rate": "15"}], "/lines"),
])
def test_an_invoice_whose_amounts_reach_10_13_is_refused(books, engine, lines, field):
    """quantity x unit price (each below 10^13) overflowed the 64-bit columns: 500."""
    api, tenant_id = books["api"], books["tenant"]["id"]
    before = _rows(engine, tenant_id)
    response = api.post("/v1/invoices", {"number": "BIG", "customer": "C1", "date": "2026-06-01", "lines": lines})
    problem(response, 422, "validation_error", field)
    assert _rows(engine, tenant_id) == before


def test_an_invoice_whose_cost_reaches_10_13_is_refused(books, engine):
    api, tenant_id = books["api"], books["tenant"]["id"]
    ok(api.post("/v1/products", {"code": "DEAR", "name": "Dear", "stock_tracked": True, "cost": BIG}), 201)
    before = _rows(engine, tenant_id)
    response = api.post("/v1/invoices", {"number": "BIG", "customer": "C1", "date": "2026-06-01", "lines": [
        {"product": "DEAR", "quantity": "2", "unit_price": "0", "tax_rate": "0"}]})
    problem(response, 422, "validation_error", "/lines")
    assert _rows(engine, tenant_id) == before


def test_a_stock_receipt_whose_cost_reaches_10_13_is_refused(books, engine):
    api, tenant_id = books["api"], books["tenant"]["id"]
    ok(api.post("/v1/products", {"code": "DEAR", "name": "Dear", "stock_tracked": True, "cost": BIG}), 201)
    before = _rows(engine, tenant_id)
    problem(api.post("/v1/stock/receipts", {"product": "DEAR", "quantity": "2"}), 422, "validation_error", "/quantity")
    assert _rows(engine, tenant_id) == before


@pytest.mark.parametrize("lines, field", [
    ([{"product": "BOOK", "quantity": BIG, "unit_price": BIG}], "/lines/0/unit_price"),
    ([{"product": "WRAP", "quantity": "1", "unit_price": "6000000000000"}] * 2, "/lines"),
    ([{"product": "BOOK", "quantity": "2000000000000", "unit_price": "0"}], "/lines/0/quantity"),  # cost 6.00 each
])
def test_an_unlinked_refund_whose_amounts_reach_10_13_is_refused(make_tenant, api_for, engine, lines, field):
    """A refund without an invoice is priced as requested: its quantity x unit price, cost or total
    overflowed the columns (500 through the native API and every door that makes one)."""
    tenant = make_tenant(allow_unlinked_refunds=True, tax_rates=["15"])
    api = api_for(tenant["token"])
    seed_books(api)
    before, snapshot = _rows(engine, tenant["id"]), state(api, None)
    response = api.post("/v1/refunds", {"customer": "C1", "lines": lines}, key="big-1")
    problem(response, 422, "validation_error", field)
    assert _rows(engine, tenant["id"]) == before and state(api, None) == snapshot
    # a malformed request is not stored under its key: the corrected retry goes through
    ok(api.post("/v1/refunds", {"customer": "C1", "lines": [{"product": "BOOK", "quantity": "1", "unit_price": "9"}]},
                key="big-1"), 201)


# -- the OpenAPI document declares what the API answers -----------------------------------------------------

def test_every_native_operation_declares_its_answers(client):
    """The document declared FastAPI's ``{"detail": [...]}`` for 422 and no body for successes; it
    now declares the success model and problem+json for every 4xx (checked against real answers by
    tests/fuzz/test_contract.py)."""
    doc = client.get("/openapi.json").json()
    for path, item in doc["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            problem_schema = responses["4XX"]["content"]["application/problem+json"]["schema"]
            assert problem_schema["required"] == ["type", "title", "status", "detail", "code", "errors"]
            success = [code for code in responses if code.startswith("2")]
            assert len(success) == 1, (method, path, responses)
            content = responses[success[0]].get("content", {})
            if success[0] != "204" and set(content) & {"application/xml", "application/pdf"}:
                assert len(content) == 1, (method, path, content)  # a document: that file, nothing else
            elif success[0] != "204":
                schema = content["application/json"]["schema"]
                assert schema["$ref"].startswith("#/components/schemas/"), (method, path)
    refund = doc["components"]["schemas"]["RefundOut"]
    assert refund["additionalProperties"] is False
    assert refund["properties"]["total"]["type"] == "string" and "pattern" in refund["properties"]["total"]
    links = doc["paths"]["/v1/refunds"]["post"]["responses"]["201"]["links"]
    assert links["void"]["parameters"] == {"refund_id": "$response.body#/id"}


# -- metadata with fractional JSON numbers ---------------------------------------------------------------

def test_metadata_numbers_with_a_fraction_are_kept_exactly(books):
    """``"metadata": {"a": 1.5}`` (decoded exactly as a Decimal) made ``json.dumps`` fail when the
    refund was written: 500 on POST /v1/refunds (posted or draft) and on PATCH of a draft."""
    api = books["api"]
    headers = {**api.headers(), "Content-Type": "application/json"}
    body = '{"invoice": "INV-1", "state": "draft", "metadata": {"a": 1.5, "b": [-0.10, 2], "c": {"d": 1e2}}, ' \
           '"lines": [{"line": 1, "quantity": "1"}]}'
    draft = ok(api.client.post("/v1/refunds", content=body, headers=headers), 201)
    assert draft["metadata"] == {"a": "1.5", "b": ["-0.10", 2], "c": {"d": "1E+2"}}  # exact, as decimals are written
    edited = ok(api.client.patch(f"/v1/refunds/{draft['id']}", content='{"metadata": {"x": 0.333}}', headers=headers))
    assert edited["metadata"] == {"x": "0.333"}
    posted = ok(api.client.post("/v1/refunds", content=body.replace('"draft"', '"posted"'), headers=headers), 201)
    assert ok(api.get(f"/v1/refunds/{posted['id']}"))["metadata"] == draft["metadata"]
    refused = api.client.post("/v1/refunds", content=body.replace("1.5", "NaN"), headers=headers)
    problem(refused, 422, "validation_error", "/metadata")


# -- the NUL character (PostgreSQL text cannot hold it) -----------------------------------------------------

@pytest.mark.parametrize("path, params, field", [
    ("/v1/customers/a%00b", None, "/code"), ("/v1/invoices/INV%00", None, "/number"),
    ("/v1/refunds/x%00", None, "/refund_id"), ("/v1/invoices", {"customer": "C\x001"}, "/customer"),
    ("/v1/refunds", {"invoice": "\x00"}, "/invoice"), ("/v1/stock", {"location": "m\x00"}, "/location"),
])
def test_nul_in_a_path_or_query_parameter_is_refused(books, path, params, field):
    """On PostgreSQL any of these answered 500 ("text fields cannot contain NUL (0x00) bytes")."""
    api = books["api"]
    problem(api.client.get(path, headers=api.headers(), params=params), 422, "validation_error", field)


@pytest.mark.parametrize("body", [
    {"code": "C\u00002", "name": "Nul"}, {"code": "C2", "name": "N\u0000ul"}, {"code": "C2", "name": "Nul", "tax_number": "\u0000"},
])
def test_nul_in_a_json_string_is_refused(books, engine, body):
    api, tenant_id = books["api"], books["tenant"]["id"]
    before = _rows(engine, tenant_id)
    problem(api.post("/v1/customers", body), 422, "validation_error", "/")
    assert _rows(engine, tenant_id) == before
    refund = api.post("/v1/refunds", {"invoice": "INV-1", "reason": "\u0000", "lines": [{"line": 1, "quantity": "1"}]})
    problem(refund, 422, "validation_error", "/")
    assert _rows(engine, tenant_id) == before


def test_nul_is_refused_by_every_door(engine, clock, client):
    """The doors' decoders: JSON (Internom: \\u0000), Vodo (%00 in the path, NUL in a form field),
    CRM.COM (%00 in refund_identifier), SnR2U JSV; each answers in its own error shape, 4xx."""
    import uuid

    from salesrefund.http.dialects import jsv
    from salesrefund.seeds import crmcom, internom, snr2u, vodo
    from salesrefund.service.tenants import create_tenant, tenant_id_by_name

    tag = uuid.uuid4().hex[:10]
    token = f"sr_internom_{tag}"
    internom.create(engine, clock, name=f"internom-nul-{tag}", token=token)
    response = client.post("/api/internom/refund/sale", headers={"Authorization": f"Bearer {token}"}, json={
        "branch_name": "\u0000", "reference": f"R-{tag}", "reference_id": tag, "customer_id": internom.TAX_NUMBER,
        "order_line": [{"product_id": internom.BARCODE, "quantity": 1, "price_unit": 14900}]})
    assert response.status_code == 400 and response.json()["status"] == "error", response.text

    credentials = dict(vodo.CREDENTIALS, **{"secure-business-key": f"sbk-{tag}", "userToken": f"ut-{tag}"})
    vodo.load(engine, clock, name=f"vodo-nul-{tag}", token=f"sr_vodo_{tag}", credentials=credentials)
    form = {"description": "x", "discount_type": "0", "item_id[]": "", "item_price[]": "100", "item_qty[]": "1",
            "item_discount[]": "", "item_desc[]": "d", "employee_id[]": "", "pos_session_id": vodo.SESSION,
            "pos_id": vodo.POS}
    for path, sent in (("/api/v4/credit_note/pos/%00", form), (f"/api/v4/credit_note/pos/{vodo.INVOICE}",
                                                               {**form, "description": "a\x00b"})):
        response = client.post(path, headers=credentials, data=sent)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["status"] is False and body["errors"][0]["code"] == "validation_error", body

    name, username = f"crm-nul-{tag}", f"mpadmin-{tag}"
    create_tenant(engine, name, clock=clock, **crmcom.TENANT_OPTIONS)
    crmcom.build(engine, clock, tenant_id_by_name(engine, name), name, username=username)
    login = {"username": username, "password": crmcom.PASSWORD, "organisation": crmcom.ORGANISATION}
    crm_token = client.post("/crmcom/v4/authentication/token", json=login).json()["data"]["token"]
    response = client.get("/crmcom/v4/refunds/show", params={"token": crm_token, "refund_identifier": "id=\x00"})
    assert response.status_code == 422 and response.json()["status"]["code"] == "INVALID_PARAMETER", response.text

    key = f"key-{tag}"
    snr2u.create(engine, clock, name=f"snr2u-nul-{tag}", token=f"sr_{tag}", api_key=key)
    response = client.post("/CustomerRefundNotes/simple", content=jsv.encode({"CustomerRefundNote": "a\x00"}),
                           headers={"Authorization": f"Bearer {key}", "Content-Type": jsv.MEDIA_TYPE})
    assert response.status_code == 400, response.text
    assert "NUL" in jsv.decode(response.content)["ResponseStatus"]["Message"]


# -- a JSON number where an object belongs ------------------------------------------------------------------

def test_a_number_is_not_a_request_object(books):
    """FastAPI validates bodies with ``from_attributes``: a JSON number (an exact Decimal) was read as
    an object with every field absent, so ``1.5`` as the body voided a refund, ``1.5`` as a PATCH
    body was an empty edit, and ``[1.5]`` as lines was a line without anything."""
    api = books["api"]
    headers = {**api.headers(), "Content-Type": "application/json"}
    posted = ok(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}), 201)
    draft = ok(api.post("/v1/refunds", {"invoice": "INV-1", "state": "draft",
                                        "lines": [{"line": 2, "quantity": "1"}]}), 201)
    before = state(api)
    for method, path, body, field in [
        ("POST", f"/v1/refunds/{posted['id']}/void", "1.5", "/"),
        ("PATCH", f"/v1/refunds/{draft['id']}", "1.5", "/"),
        ("POST", "/v1/periods/reopen", "-2.5e3", "/"),
        ("POST", "/v1/refunds", '{"invoice": "INV-1", "lines": [1.5]}', "/lines/0"),
        ("POST", "/v1/refunds", '{"invoice": "INV-1", "lines": [{"line": 1}], "payments": [NaN]}', "/payments/0"),
    ]:
        problem(api.client.request(method, path, content=body, headers=headers), 422, "validation_error", field)
    assert state(api) == before
    assert ok(api.get(f"/v1/refunds/{posted['id']}"))["state"] == "posted"
    # an absent body, null or {} are still "no options"
    ok(api.client.post(f"/v1/refunds/{posted['id']}/void", content="null", headers=headers))


# -- dates and repeated parameters in the query string -----------------------------------------------

@pytest.mark.parametrize("path", ["/v1/refunds", "/v1/journal", "/v1/events"])
@pytest.mark.parametrize("day", ["0", "-5.628859576884188e-243", "1780000000", "2026-06-15T00:00:00", "20260615",
                                 "2026-6-15", "\u0662\u0660\u0662\u0666-\u0660\u0666-\u0661\u0665", " 2026-06-15"])
def test_a_query_date_is_yyyy_mm_dd_and_nothing_else(books, path, day):
    """``GET /v1/events?from=-5.6e-243`` answered 200 with the events since 1970 (pydantic reads a
    number's text as seconds since 1970, and a midnight date-time as its day; found by the
    stateful contract fuzzer)."""
    api = books["api"]
    for name in ("from", "to"):
        problem(api.client.get(path, headers=api.headers(), params={name: day}), 422, "validation_error", f"/{name}")
    assert api.client.get(path, headers=api.headers(), params={"from": "2026-06-15"}).status_code == 200


@pytest.mark.parametrize("day", ["0", "2026-06-15T00:00:00", "2026-6-15"])
def test_a_body_date_is_yyyy_mm_dd_and_nothing_else(books, day):
    api = books["api"]
    problem(api.post("/v1/periods/close", {"through": day}), 422, "validation_error", "/through")
    problem(api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}], "posting_date": day}),
            422, "validation_error", "/posting_date")
    problem(api.post("/v1/events/replay", {"from": day, "to": "2026-06-15"}), 422, "validation_error", "/from")
    assert ok(api.get("/v1/periods"))["closed_through"] is None
    assert ok(api.get("/v1/refunds"))["items"] == []


@pytest.mark.parametrize("path, query, field", [
    ("/v1/events", "from=2026-01-01&from=2026-02-01", "/from"), ("/v1/refunds", "limit=5&limit=6", "/limit"),
    ("/v1/refunds", "state=posted&invoice=INV-1&state=draft", "/state"), ("/v1/invoices", "customer=C1&customer=C2", "/customer"),
])
def test_a_query_parameter_given_twice_is_refused(books, path, query, field):
    """FastAPI keeps the last of a repeated query parameter and drops the others without a word
    (``?from=false&from={...}&from=-5e-243``, found by the stateful contract fuzzer)."""
    api = books["api"]
    refused = problem(api.client.get(f"{path}?{query}", headers=api.headers()), 422, "validation_error", field)
    assert "more than once" in refused["detail"]
    assert api.client.get(f"{path}?{query.split('&')[0]}", headers=api.headers()).status_code == 200


def test_a_repeated_query_parameter_is_refused_after_the_caller_is_known(books):
    """401 precedes every validation error (R18), this one too."""
    api = books["api"]
    problem(api.client.get("/v1/refunds?limit=5&limit=6"), 401, "unauthorized")
    problem(api.client.get("/v1/refunds?limit=5&limit=6", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
