"""Security at the edges (issue 10): failures the app answers before a route runs are answered in
the envelope and status of the door the request was sent to (a body over the limit: 413, or HTTP
200 with ``success: false`` at BeansBooks, whose clients read only 200 bodies); the native API
answers problem+json."""

from __future__ import annotations

import uuid

import pytest

from salesrefund.http.app import MAX_BODY_BYTES
from salesrefund.service.doors import create_door_credential

OVER = b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}"


def _vodo_headers(engine, clock, tenant) -> dict:
    login = f"vodo-edge-{uuid.uuid4().hex[:8]}"
    create_door_credential(engine, tenant["tenant"], "vodo", login=login, secret="s3cret", clock=clock,
                           settings={"apikey": "k", "platform_key": "p", "vat_rate": "15"})
    return {"secure-business-key": login, "userToken": "s3cret", "apikey": "k", "platform-key": "p",
            "platform": "web", "Content-Type": "application/x-www-form-urlencoded"}


def _native(response) -> str:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()["code"]


def _internom(response) -> str:
    assert response.status_code == 413
    body = response.json()
    assert body["status"] == "error" and body["message"]
    return body["errors"][0]["code"]


def _vodo(response) -> str:
    assert response.status_code == 413
    body = response.json()
    assert body["status"] is False and body["data"] is None and body["message"]
    return body["errors"][0]["code"]


def _crmcom(response) -> str:
    assert response.status_code == 413
    body = response.json()
    assert body["data"] is None
    return body["status"]["code"]


def _beansbooks(response) -> str:
    assert response.status_code == 200  # BeansBooks' clients read only HTTP 200 bodies
    body = response.json()
    assert body["success"] is False and body["error"]
    return body["error_code"]


def _snr2u(response) -> str:
    assert response.status_code == 413
    text = response.text  # ServiceStack's ResponseStatus (in JSON or JSV, in whichever casing)
    assert "esponseStatus" in text
    return "payload_too_large" if "payload_too_large" in text else text[:200]


DOORS = [
    ("native", "/v1/refunds", _native, "payload_too_large"),
    ("internom", "/api/internom/refund/sale", _internom, "payload_too_large"),
    ("vodo", "/api/v4/credit_note/pos/121052", _vodo, "payload_too_large"),
    ("crmcom", "/crmcom/v4/refunds/create", _crmcom, "PAYLOAD_TOO_LARGE"),
    ("crmcom-login", "/crmcom/v4/authentication/token", _crmcom, "PAYLOAD_TOO_LARGE"),
    ("beansbooks", "/api/customer/sale/refund", _beansbooks, "payload_too_large"),
    ("beansbooks-any-case", "/api/Customer/Sale/Refund", _beansbooks, "payload_too_large"),
    ("snr2u", "/CustomerRefundNotes/simple", _snr2u, "payload_too_large"),
    ("snr2u-jsv", "/CustomerRefundNotes/simple.jsv", _snr2u, "payload_too_large"),
]


@pytest.fixture
def door_headers(engine, clock, make_tenant):
    tenant = make_tenant(currency="SAR", prices_include_tax=True)
    bearer = {"Authorization": f"Bearer {tenant['token']}", "Content-Type": "application/json"}
    return {"native": bearer, "internom": bearer, "snr2u": bearer, "snr2u-jsv": {**bearer, "Content-Type": "text/jsv"},
            "vodo": _vodo_headers(engine, clock, tenant), "crmcom": {"Content-Type": "application/json"},
            "crmcom-login": {"Content-Type": "application/json"}, "beansbooks": {"Content-Type": "application/json"},
            "beansbooks-any-case": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("door, path, shape, code", DOORS, ids=[d[0] for d in DOORS])
def test_a_declared_body_over_the_limit_is_answered_in_the_doors_shape(client, door_headers, door, path, shape, code):
    response = client.post(path, content=OVER, headers=door_headers[door])
    assert shape(response) == code, response.text[:300]
    assert response.headers.get("connection") == "close"


@pytest.mark.parametrize("door, path, shape, code", DOORS, ids=[d[0] for d in DOORS])
def test_a_streamed_body_over_the_limit_is_answered_in_the_doors_shape(client, door_headers, door, path, shape, code):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    response = client.post(path, content=chunks(), headers=door_headers[door])
    assert shape(response) == code, response.text[:300]


def test_the_snr2u_jsv_door_answers_the_limit_in_jsv(client, door_headers):
    response = client.post("/CustomerRefundNotes/simple.jsv", content=OVER, headers=door_headers["snr2u-jsv"])
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/jsv")
