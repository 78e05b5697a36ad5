"""Sign-ins are throttled per credential and per client address (issue 10, "Security at the
edges"): after too many failures the door answers 429 in its own shape with ``Retry-After``, even
to the right secret, until the window passes; the counts live in the database (shared by every
worker). A known and an unknown login cost the same scrypt work (no username enumeration)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from salesrefund.app import create_app
from salesrefund.http.dialects import crmcom
from salesrefund.service import doors, limits
from salesrefund.service.doors import create_door_credential
from salesrefund.service.refunds import Settings

LOGIN = crmcom.BASE + "/authentication/token"


@pytest.fixture
def crm_user(engine, clock, make_tenant):
    tenant = make_tenant()
    username = f"crm-throttle-{uuid.uuid4().hex[:10]}"
    create_door_credential(engine, tenant["tenant"], "crmcom", login=username, secret="1234", clock=clock,
                           settings={"organisation": "ORG"})
    return {"username": username, "password": "1234", "organisation": "ORG"}


def _start_of_window(clock) -> None:
    """Move the test clock to the start of a fresh throttle window (counts of earlier tests on the
    same database stay in earlier windows)."""
    now = int(clock.current.timestamp())
    clock.current += timedelta(seconds=limits.LOGIN_WINDOW_SECONDS - now % limits.LOGIN_WINDOW_SECONDS)


def test_300_wrong_crmcom_passwords_then_the_right_one_is_refused_until_the_window_passes(client, clock, crm_user):
    _start_of_window(clock)
    answers = [client.post(LOGIN, json={**crm_user, "password": f"guess-{i}"}) for i in range(300)]
    assert {r.status_code for r in answers[:limits.LOGIN_FAILURES]} == {401}
    assert {r.status_code for r in answers[limits.LOGIN_FAILURES:]} == {429}

    right = client.post(LOGIN, json=crm_user)
    assert right.status_code == 429, right.text
    assert right.json()["status"]["code"] == "RATE_LIMITED" and right.json()["data"] is None
    assert int(right.headers["Retry-After"]) == limits.LOGIN_WINDOW_SECONDS

    clock.current += timedelta(seconds=limits.LOGIN_WINDOW_SECONDS - 1)
    still = client.post(LOGIN, json=crm_user)
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    clock.current += timedelta(seconds=1)
    assert client.post(LOGIN, json=crm_user).status_code == 200


def test_the_throttle_is_shared_by_every_worker(engine, client, clock, crm_user):
    """Another app over the same database (another worker or server) sees the same counts."""
    _start_of_window(clock)
    for i in range(limits.LOGIN_FAILURES):
        assert client.post(LOGIN, json={**crm_user, "password": f"guess-{i}"}).status_code == 401
    other = TestClient(create_app(engine, clock=clock, settings=Settings()), raise_server_exceptions=False)
    assert other.post(LOGIN, json=crm_user).status_code == 429


def test_an_unknown_login_is_throttled_like_a_known_one(client, clock):
    _start_of_window(clock)
    body = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "x", "organisation": "ORG"}
    statuses = [client.post(LOGIN, json=body).status_code for _ in range(limits.LOGIN_FAILURES + 1)]
    assert statuses == [401] * limits.LOGIN_FAILURES + [429]


def test_one_client_address_guessing_many_logins_is_throttled(app, clock, crm_user, monkeypatch):
    monkeypatch.setattr(limits, "ADDRESS_FAILURES", 5)
    _start_of_window(clock)
    attacker = TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 40000))
    for i in range(5):  # five different logins, one guess each: no login reaches its own limit
        assert attacker.post(LOGIN, json={**crm_user, "username": f"user-{i}-{uuid.uuid4().hex[:6]}"}).status_code == 401
    refused = attacker.post(LOGIN, json=crm_user)  # even the right secret, from that address
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    neighbour = TestClient(app, raise_server_exceptions=False, client=("203.0.113.8", 40000))
    assert neighbour.post(LOGIN, json=crm_user).status_code == 200


def test_guessed_bearer_tokens_are_throttled_per_address(app, books, clock, monkeypatch):
    monkeypatch.setattr(limits, "ADDRESS_FAILURES", 5)
    _start_of_window(clock)
    guesser = TestClient(app, raise_server_exceptions=False, client=("198.51.100.4", 40000))
    for i in range(5):
        assert guesser.get("/v1/invoices/INV-1", headers={"Authorization": f"Bearer sr_guess_{i}"}).status_code == 401
    refused = guesser.get("/v1/invoices/INV-1", headers={"Authorization": "Bearer sr_guess_x"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate_limited" and refused.headers["Retry-After"]
    # an Internom request with a guessed token from that address: 429 in Internom's envelope
    door = guesser.post("/api/internom/refund/sale", json={}, headers={"Authorization": "Bearer sr_guess_y"})
    assert door.status_code == 429 and door.json()["status"] == "error"


def test_beansbooks_and_vodo_answer_the_throttle_in_their_own_shape(engine, client, clock, make_tenant):
    _start_of_window(clock)
    tenant = make_tenant(currency="SAR", prices_include_tax=True)
    uid = str(900_000 + int(uuid.uuid4().int % 90_000))
    create_door_credential(engine, tenant["tenant"], "beansbooks", login=uid, secret="beans-key", clock=clock,
                           settings={"auth_expiration": 1700000000})
    body = {"auth_uid": int(uid), "auth_key": "wrong", "auth_expiration": 1700000000, "id": 1,
            "date_created": "2026-06-15", "lines": [{"description": "x", "amount": -1, "quantity": 1}]}
    for _ in range(limits.LOGIN_FAILURES):
        assert client.post("/api/customer/sale/refund", json=body).json()["error_code"] == "unauthorized"
    refused = client.post("/api/customer/sale/refund", json={**body, "auth_key": "beans-key"})
    assert refused.status_code == 200  # BeansBooks' clients read only HTTP 200 bodies
    assert refused.json()["success"] is False and refused.json()["error_code"] == "rate_limited"
    assert refused.headers["Retry-After"]

    login = f"vodo-throttle-{uuid.uuid4().hex[:8]}"
    create_door_credential(engine, tenant["tenant"], "vodo", login=login, secret="s3cret", clock=clock,
                           settings={"apikey": "k", "platform_key": "p", "vat_rate": "15"})
    headers = {"secure-business-key": login, "userToken": "wrong", "apikey": "k", "platform-key": "p", "platform": "web"}
    for _ in range(limits.LOGIN_FAILURES):
        assert client.post("/api/v4/credit_note/pos/1", headers=headers).status_code == 401
    refused = client.post("/api/v4/credit_note/pos/1", headers={**headers, "userToken": "s3cret"})
    assert refused.status_code == 429
    assert refused.json()["status"] is False and refused.json()["errors"][0]["code"] == "rate_limited"
    assert refused.headers["Retry-After"]


# -- item 5: a known and an unknown login cost the same ----------------------------------------------

def test_a_known_and_an_unknown_login_run_the_same_scrypt_work(engine, clock, crm_user, monkeypatch):
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(kwargs.get("n"))
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    _start_of_window(clock)
    assert doors.authenticate_door(engine, "crmcom", crm_user["username"], "wrong", clock) is None
    known = list(calls)
    calls.clear()
    assert doors.authenticate_door(engine, "crmcom", f"nobody-{uuid.uuid4().hex[:8]}", "wrong", clock) is None
    unknown = list(calls)
    assert known == unknown and len(known) == 1
