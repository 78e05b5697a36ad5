"""Parser fuzzing (issue 4, item 12): generated and mutated input for every decoder of the server.

* ``http.problems.loads_exact`` (the JSON decoder every JSON door uses) and the JSV codec
  (``http.dialects.jsv``; ``tests/doors/test_jsv.py`` has its round trip and byte fuzzing, this
  adds structural mutations of the SnR2U document), called directly;
* every door through the HTTP app, starting from the door's valid example (``tests/doors`` and
  ``seeds/``) and breaking it (``mutations.py``: dropped fields, changed types, huge, negative,
  NaN and exponent numbers, unicode, deep nesting, wrong containers, duplicate and unknown keys,
  stray bytes, truncation): the native API, Internom, Vodo (multipart and urlencoded, with
  mutated field arrays and broken multipart framing), CRM.COM (login, create, show), BeansBooks,
  SnR2U in JSON and in JSV.

For each request: an answer within ``TIMEOUT`` seconds, never a 5xx, and either the door's
success or its declared error shape with a 4xx (BeansBooks: HTTP 200 with ``success: false``, as
its document does); a rejected request leaves every business row of the tenant as it was
(``fuzz_kit.db_state``). Valid-looking mutations may be accepted; that is fine, they are real
refunds checked by the other suites.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "doors"))  # the doors' example helpers

from fuzz_kit import STATS, changed_tables, db_state, seed_books  # noqa: E402
from mutations import STRINGS, Pairs, documents, emit, parse, structural, textual  # noqa: E402
from salesrefund.domain.errors import Invalid  # noqa: E402
from salesrefund.http.dialects import jsv  # noqa: E402
from salesrefund.http.problems import loads_exact  # noqa: E402
from salesrefund.seeds import beansbooks, crmcom, internom, snr2u, vodo  # noqa: E402
from salesrefund.service.tenants import create_tenant, tenant_id_by_name  # noqa: E402
from snr2u_helpers import FILLED, FILLED_JSV, as_json, from_camel, json_text  # noqa: E402
from vodo_helpers import DOCUMENT_FORM  # noqa: E402

TIMEOUT = 5.0  # seconds per request; a slower answer is a hang
EXAMPLES = 200  # per door and encoding
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


# -- the harness -------------------------------------------------------------------------------------

class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: float = TIMEOUT):
    """Fail (instead of waiting for ever) when the block takes longer than ``seconds``."""
    def expired(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Door:
    """One door under fuzzing: sends a request, classifies the answer, checks the database."""

    def __init__(self, name: str, engine, tenant: str, accepted, refused):
        self.name = name
        self.engine = engine
        self.tenant_id = tenant_id_by_name(engine, tenant)
        self.accepted = accepted  # response -> bool: the door's success
        self.refused = refused  # response -> None, asserting the door's error shape
        self.statuses: list[str] = []

    def send(self, call, sent=None):
        """``call()`` sends the request. Returns the response, after the checks."""
        before = db_state(self.engine, self.tenant_id)
        started = time.perf_counter()
        with time_limit():
            response = call()
        elapsed = time.perf_counter() - started
        where = f"{self.name}: {str(sent)[:400]!r} -> {response.status_code} {response.text[:400]}"
        assert response.status_code < 500, where
        assert elapsed < TIMEOUT, where
        accepted = self.accepted(response)
        self.statuses.append(f"{response.status_code} {'accepted' if accepted else 'refused'}")
        if not accepted:
            self.refused(response)
            changed = changed_tables(before, db_state(self.engine, self.tenant_id))
            assert not changed, f"a refused request changed {changed}: {where}"
        return response

    def done(self):
        STATS.record(self.name, self.statuses)
        assert self.statuses


def _json(response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    return body


def _errors(errors, *, field_type=(str, type(None))) -> None:
    assert isinstance(errors, list) and errors, errors
    for error in errors:
        assert isinstance(error, dict) and set(error) >= {"code", "message"}, error
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error.get("field"), field_type), error


def _client_error(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:400])


def _exact_numbers(value) -> None:
    """No binary float anywhere in a decoded document (R1)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _exact_numbers(item)
    elif isinstance(value, list):
        for item in value:
            _exact_numbers(item)
    else:
        assert not isinstance(value, float), value


# -- the decoders, called directly -------------------------------------------------------------------

JSON_SEEDS = [emit(parse(text)) for text in (
    '{"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}], "payments": [{"method": "card", "amount": 11.50}]}',
    json_text(as_json(FILLED)),
)]


def _decode_or_refuse(data: bytes):
    started = time.perf_counter()
    try:
        value = loads_exact(data)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        value = None
    except Invalid as error:  # a lone UTF-16 surrogate: refused naming where it is (issue 9, item 9)
        assert error.code == "validation_error" and error.first.field.startswith("/"), error.violations
        value = None
    else:
        _exact_numbers(value)
    assert time.perf_counter() - started < 1.0
    return value


@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                 st.sampled_from(JSON_SEEDS).flatmap(textual),
                 st.sampled_from([parse(s) for s in JSON_SEEDS]).flatmap(structural).map(
                     lambda v: emit(v).encode("utf-8"))))
@settings(max_examples=400, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_loads_exact_decodes_exactly_or_raises_value_error(data):
    value = _decode_or_refuse(data)
    if value is not None:
        # what it accepts is JSON, decoded as the standard decoder does but with exact numbers
        reference = json.loads(data, parse_float=Decimal, parse_constant=Decimal)
        assert repr(value) == repr(reference)


@pytest.mark.parametrize("text", [
    "[" * 100_000, '{"a":' * 50_000, "[" * 33 + "]" * 33, "1e999999999", "-" + "9" * 5000, "9" * 4301,
    '"' + "\\u0000" * 10_000 + '"', '"\\ud800"', "NaN", "-Infinity", "\ufeff{}", '{"a":1,"a":2}', " " * 500_000,
])
def test_loads_exact_on_pathological_documents(text):
    _decode_or_refuse(text.encode("utf-8", "surrogatepass"))


def _jsv_emit(value) -> str:
    """JSV text of a mutated value (``Pairs`` may repeat keys; ``None`` in a list is written empty)."""
    if isinstance(value, (Pairs, dict)):
        items = value if isinstance(value, Pairs) else value.items()
        return "{" + ",".join(jsv._key(str(k)) + ":" + ("" if v is None else _jsv_emit(v)) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join("" if v is None else _jsv_emit(v) for v in value) + "]"
    if isinstance(value, bool):
        return "True" if value else "False"
    return jsv.quote(str(value))


@given(st.one_of(structural(FILLED).map(_jsv_emit).map(str.encode), textual(FILLED_JSV)))
@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_jsv_decodes_mutated_refund_notes_or_raises_jsv_error(data):
    started = time.perf_counter()
    try:
        value = jsv.decode(data)
    except jsv.JsvError:
        return
    finally:
        assert time.perf_counter() - started < 1.0
    assert jsv.decode(jsv.encode(value)) == value


# -- the native API ------------------------------------------------------------------------------------

NATIVE = {
    "/v1/refunds": parse('{"invoice": "INV-1", "reason": "Damaged", "lines": [{"line": 1, "quantity": "1"}, '
                         '{"product": "MUG", "quantity": 1, "unit_price": "4.99"}, {"amount": "1.00", '
                         '"tax_rate": "15", "description": "Goodwill"}], "payments": [{"method": "card", '
                         '"amount": "17.92"}]}'),
    "/v1/invoices": parse('{"number": "INV-2", "customer": "C1", "date": "2026-06-10", "location": "main", '
                          '"lines": [{"product": "BOOK", "quantity": "2", "unit_price": "10.00", "tax_rate": "15"}, '
                          '{"description": "Gift wrap", "quantity": 1, "unit_price": 2.5, "discount": "0.50", '
                          '"tax_rate": "0"}], "payments": [{"method": "cash", "amount": "25.00"}]}'),
    "/v1/stock/receipts": parse('{"product": "BOOK", "quantity": "5", "location": "main", "date": "2026-06-10"}'),
}
NATIVE["/v1/refunds/preview"] = NATIVE["/v1/refunds"]


def test_native_api(make_tenant, client, engine):
    tenant = make_tenant()
    headers = {"Authorization": f"Bearer {tenant['token']}"}
    seed_books(client, headers)

    def refused(response):
        _client_error(response)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == response.status_code and body["code"] == body["errors"][0]["code"]
        _errors(body["errors"])
        assert all(e["field"].startswith("/") for e in body["errors"])

    door = Door("native /v1", engine, tenant["tenant"], lambda r: r.status_code in (200, 201), refused)

    @given(data=st.data(), path=st.sampled_from(sorted(NATIVE)),
           key=st.one_of(st.none(), st.sampled_from(["", " ", "k" * 300, "ключ"]), st.uuids().map(str)))
    @FUZZ
    def run(data, path, key):
        base = NATIVE[path]
        if path == "/v1/invoices":
            base = {**base, "number": f"INV-{uuid.uuid4().hex[:12]}"}
        body = data.draw(documents(base))
        sent = {**headers, "Content-Type": "application/json"}
        if key is not None:
            sent["Idempotency-Key"] = key.encode("utf-8")  # raw UTF-8 bytes on the wire
        door.send(lambda: client.post(path, content=body, headers=sent), body)

    run()
    door.done()


# -- Internom ----------------------------------------------------------------------------------------

INTERNOM = parse(json.dumps({"branch_name": internom.BRANCH, "reference": "S/221031/070515",
                             "reference_id": "ecom-WKTkw061pzPmw", "customer_id": internom.TAX_NUMBER,
                             "order_line": [{"product_id": internom.BARCODE, "quantity": 1, "price_unit": 14900}]}))


def test_internom(engine, clock, client):
    name, token = f"internom-fz-{uuid.uuid4().hex[:8]}", f"sr_internom_{uuid.uuid4().hex}"
    assert internom.create(engine, clock, name=name, token=token)

    def accepted(response):
        return response.status_code == 200 and _json(response).get("status") == "success"

    def refused(response):
        _client_error(response)
        body = _json(response)
        assert set(body) == {"status", "message", "errors"} and body["status"] == "error", body
        assert isinstance(body["message"], str) and body["message"]
        _errors(body["errors"])

    door = Door("internom", engine, name, accepted, refused)

    @given(data=st.data(), lang=st.sampled_from(["en", "mn", "xx"]))
    @FUZZ
    def run(data, lang):
        base = {**INTERNOM, "reference": f"S/{uuid.uuid4().hex[:12]}", "reference_id": uuid.uuid4().hex}
        body = data.draw(documents(base))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": lang}
        door.send(lambda: client.post("/api/internom/refund/sale", content=body, headers=headers), body)

    run()
    door.done()


# -- Vodo (multipart / urlencoded with parallel arrays) -------------------------------------------------

ARRAY_KEYS = ["item_id[]", "item_price[]", "item_qty[]", "item_discount[]", "item_desc[]", "employee_id[]"]
ODD_KEYS = ["item_id", "item_id[0]", "item_id[1]", "item_id[9999]", "item_id[-1]", "item_id[abc]", "item_id[][]",
            "ITEM_ID[]", "item_qty[0]", "item_price[00]", "pos_id[]", "unknown", "", "a" * 300, "description"]


def _multipart(fields, boundary: str) -> bytes:
    parts = []
    for key, value in fields:
        if isinstance(value, tuple):  # a file part
            filename, content = value
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@st.composite
def vodo_forms(draw):
    """The document's form (a free amount of 100) or one refunding an invoice item, mutated."""
    fields = list(DOCUMENT_FORM)
    if draw(st.booleans()):
        fields = [(k, {"item_id[]": "2944", "item_price[]": "100", "item_desc[]": "treatment"}.get(k, v))
                  for k, v in fields]
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(fields) - 1, 0)))
        kind = draw(st.sampled_from(("value", "value", "drop", "duplicate", "key", "file", "many", "extra_item")))
        if not fields:
            fields.append(("description", "x"))
            continue
        key, value = fields[at]
        if kind == "value":
            fields[at] = (key, draw(st.one_of(st.sampled_from(STRINGS), st.text(max_size=20),
                                              st.sampled_from(["-1", "0", "1e3", "NaN", "100.005", "99999999999999",
                                                               "2", "0.0001", "١٠٠", "2945", "3025"]))))
        elif kind == "drop":
            del fields[at]
        elif kind == "duplicate":
            fields.insert(at, (key, value))
        elif kind == "key":
            fields[at] = (draw(st.sampled_from(ODD_KEYS + ARRAY_KEYS)), value)
        elif kind == "file":
            fields[at] = (key, ("x.txt", draw(st.binary(max_size=20))))
        elif kind == "many":
            fields.extend([(draw(st.sampled_from(ARRAY_KEYS)), "1")] * draw(st.integers(100, 3000)))
        else:
            fields.extend((name, draw(st.sampled_from(["", "1", "2944", "-5", "100"]))) for name in ARRAY_KEYS)
    return [(k, v) for k, v in fields]


def test_vodo(engine, clock, client):
    tag = uuid.uuid4().hex[:10]
    name, token = f"vodo-fz-{tag}", f"sr_vodo_{tag}"
    credentials = dict(vodo.CREDENTIALS, **{"secure-business-key": f"sbk-{tag}", "userToken": f"ut-{tag}"})
    assert vodo.load(engine, clock, name=name, token=token, credentials=credentials)

    def accepted(response):
        return response.status_code == 200 and _json(response).get("status") is True

    def refused(response):
        _client_error(response)
        body = _json(response)
        assert set(body) == {"status", "message", "data", "errors"}, body
        assert body["status"] is False and body["data"] is None and isinstance(body["message"], str), body
        _errors(body["errors"])

    door = Door("vodo", engine, name, accepted, refused)

    @given(fields=vodo_forms(), encoding=st.sampled_from(["multipart", "multipart", "urlencoded", "broken", "type"]),
           invoice=st.one_of(st.just(vodo.INVOICE), st.sampled_from(["0", "x" * 300, "١٢١٠٥٢", "%00", "121052.0"])),
           lang=st.sampled_from(["ar", "en"]), data=st.data())
    @FUZZ
    def run(fields, encoding, invoice, lang, data):
        headers = {**credentials, "Accept-Language": lang}
        boundary = f"b{uuid.uuid4().hex}"
        text_fields = [(k, v if isinstance(v, str) else "file") for k, v in fields]
        if encoding == "urlencoded":
            body = urllib.parse.urlencode(text_fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = _multipart(fields, boundary)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            if encoding == "broken":
                body = data.draw(textual(body.decode("utf-8", "replace")))
            elif encoding == "type":
                headers["Content-Type"] = data.draw(st.sampled_from([
                    "multipart/form-data", f"multipart/form-data; boundary={boundary}x", "text/plain",
                    "application/json", "multipart/mixed; boundary=" + boundary, ""]))
        path = "/api/v4/credit_note/pos/" + urllib.parse.quote(invoice, safe="")
        door.send(lambda: client.post(path, content=body, headers=headers), (encoding, fields[:12]))

    run()
    door.done()


# -- CRM.COM --------------------------------------------------------------------------------------------

def _crm_example(token: str) -> dict:
    return parse(json.dumps({
        "token": token, "accounts_receivable_identifier": {"number": "ACR0000001"}, "type_identifier": {"name": "Refund"},
        "life_cycle_state": "POSTED", "refund_method_identifier": {"name": "Cash"}, "refund_amount": 1.5,
        "intended_currency_identifier": {"code": "EUR"}, "category_identifier": {"name": "General"},
        "notes": "Paid out at the Nicosia branch", "back_office_code": "BO", "issue_on": "2026-06-15",
        "issue_reason": "Customer closed the account", "posted_on": "2026-06-15", "udf_string_1": "s1",
        "udf_float_1": 12.5, "udf_date_1": "2026-01-11"}))


def test_crmcom(engine, clock, client):
    name, username = f"crm-fz-{uuid.uuid4().hex[:10]}", f"mpadmin-{uuid.uuid4().hex[:10]}"
    create_tenant(engine, name, clock=clock, **crmcom.TENANT_OPTIONS)
    crmcom.build(engine, clock, tenant_id_by_name(engine, name), name, username=username)
    base = "/crmcom/v4"
    login = {"username": username, "password": crmcom.PASSWORD, "organisation": crmcom.ORGANISATION}
    token = client.post(base + "/authentication/token", json=login).json()["data"]["token"]

    def accepted(response):
        return response.status_code == 200 and _json(response)["status"]["code"] == "OK"

    def refused(response):
        _client_error(response)
        body = _json(response)
        assert set(body) == {"status", "data"} and body["data"] is None, body
        status = body["status"]
        assert set(status) == {"code", "message", "description"} and status["code"] != "OK", body
        assert isinstance(status["code"], str) and isinstance(status["message"], str) and status["message"]

    door = Door("crmcom", engine, name, accepted, refused)

    @given(data=st.data(), target=st.sampled_from(["create", "create", "create", "login", "show"]))
    @FUZZ
    def run(data, target):
        if target == "show":
            query = data.draw(st.dictionaries(
                st.sampled_from(["token", "refund_identifier", "fields_set", "x"]),
                st.one_of(st.sampled_from(STRINGS + [token, "id=", "number=PO-2026-000001", '{"id": 1}', '{"id":',
                                                     "refund_amount,id", "nope"]), st.text(max_size=20)),
                max_size=3))
            query.setdefault("token", token)
            door.send(lambda: client.get(base + "/refunds/show", params=query), query)
            return
        if target == "login":
            body = data.draw(structural(parse(json.dumps(login))).map(lambda v: emit(v).encode()))
            path = base + "/authentication/token"
        else:
            example = {**_crm_example(token), "back_office_code": f"BO-{uuid.uuid4().hex[:16]}"}
            body = data.draw(documents(example))
            path = base + "/refunds/create"
        door.send(lambda: client.post(path, content=body, headers={"Content-Type": "application/json"}), body)

    run()
    door.done()


# -- BeansBooks ---------------------------------------------------------------------------------------

def test_beansbooks(engine, clock, client):
    name, uid, key = f"beans-fz-{uuid.uuid4().hex[:10]}", 5_000_000 + uuid.uuid4().int % 1_000_000, uuid.uuid4().hex
    assert beansbooks.create(engine, clock, name=name, token=f"sr_beans_{uuid.uuid4().hex}", auth_uid=uid,
                             auth_key=key, auth_expiration=1700000000)
    example = parse(json.dumps({
        "auth_uid": uid, "auth_key": key, "auth_expiration": 1700000000, "id": 1, "date_created": "2026-06-15",
        "sale_number": "S-1", "sent": "email", "lines": [{"description": "Coffee beans, 1 kg", "amount": -49.99,
                                                           "quantity": 1, "account_id": 2}], "taxes": [{"tax_id": 1}]}))
    envelope = {"success", "config_error", "auth_error", "error", "data", "error_code", "errors"}

    def accepted(response):
        assert response.status_code == 200, response.text[:400]  # BeansBooks answers refusals with 200 too
        return _json(response).get("success") is True

    def refused(response):
        body = _json(response)
        assert set(body) == envelope and body["success"] is False, body
        assert body["error"] or body["auth_error"], body
        assert isinstance(body["error_code"], str) and body["error_code"]
        _errors(body["errors"])

    door = Door("beansbooks", engine, name, accepted, refused)

    @given(body=documents(example),
           path=st.sampled_from(["/api/customer/sale/refund", "/api/Customer/Sale/Refund"]))
    @FUZZ
    def run(body, path):
        door.send(lambda: client.post(path, content=body, headers={"Content-Type": "application/json"}), body)

    run()
    door.done()


# -- SnR2U (JSON and JSV) ------------------------------------------------------------------------------

def _numbered(note, number: str):
    """The filled-in refund note under a fresh refund note number (the natural key)."""
    note = json.loads(json.dumps(note))
    body = note["CustomerRefundNote"]
    body["DocumentHeader"]["AcCusRefundNoteMID"] = number
    for row in body["DocumentDetails"] + body["DocumentPaymentDetails"]:
        row["AcCusRefundNoteMID"] = number
    return note


@pytest.mark.parametrize("fmt", ["json", "jsv"])
def test_snr2u(engine, clock, client, fmt):
    name, key = f"snr2u-fz-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex}"
    assert snr2u.create(engine, clock, name=name, token=f"sr_{uuid.uuid4().hex}", api_key=key)

    def decoded(response):
        kind = response.headers["content-type"]
        if kind.startswith(jsv.MEDIA_TYPE):
            return jsv.decode(response.content)
        assert kind.startswith("application/json"), kind
        return from_camel(response.json())  # camelCase, ServiceStack's JSON default (issue 10)

    def accepted(response):
        return response.status_code == 200 and "CustomerRefundNote" in decoded(response)

    def refused(response):
        _client_error(response)
        body = decoded(response)
        assert set(body) == {"ResponseStatus"}, body
        status = body["ResponseStatus"]
        assert status["ErrorCode"] and status["Message"], status
        errors = status["Errors"]
        assert isinstance(errors, list) and errors, status
        for error in errors:
            assert error["ErrorCode"] and error["Message"] and isinstance(error.get("FieldName", ""), (str, type(None)))

    door = Door(f"snr2u {fmt}", engine, name, accepted, refused)

    @given(data=st.data(), accept=st.sampled_from([None, "text/jsv", "application/json"]),
           lang=st.sampled_from(["en", "ms"]))
    @FUZZ
    def run(data, accept, lang):
        number = f"RN-{uuid.uuid4().hex[:12]}"
        note = _numbered(FILLED, number)
        if fmt == "json":
            base = parse(json_text(as_json(note)))
            body = data.draw(documents(base))
            kind = "application/json"
        else:
            body = data.draw(st.one_of(structural(note).map(_jsv_emit).map(str.encode),
                                       structural(note).map(_jsv_emit).map(str.encode), textual(jsv.encode(note))))
            kind = jsv.MEDIA_TYPE
        headers = {"Authorization": f"Bearer {key}", "Content-Type": kind, "Accept-Language": lang}
        if accept:
            headers["Accept"] = accept
        door.send(lambda: client.post("/CustomerRefundNotes/simple", content=body, headers=headers), body)

    run()
    door.done()
