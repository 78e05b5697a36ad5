"""The door pipeline itself (issue 10), with a tiny door declared here: its success, a refusal in the
door's shape with Retry-After and WWW-Authenticate, a fault answered as 500 in the door's shape, a
replay marked Idempotent-Replayed, and the strict body reader's refusals."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from salesrefund.domain.errors import Invalid, RefundError, Violation, reject, status_of
from salesrefund.http.dialects import pipeline
from salesrefund.service.idempotency import Response


class TinyResponder:
    def __init__(self, lang: str):
        self.lang = lang

    def success(self, view: dict, status: int) -> Response:
        return Response(status, "application/json", json.dumps({"ok": view, "lang": self.lang}))

    def failure(self, error: RefundError) -> Response:
        status = 500 if error.code == "server_error" else error.status  # the door's status map
        return Response(status, "application/json",
                        json.dumps({"ok": False, "code": error.code, "field": error.violations[0].field}))


def _authenticate(call: pipeline.Call):
    if call.request.headers.get("authorization") != "Bearer good":
        raise reject("unauthorized", "Authorization", "who are you")
    return SimpleNamespace(tenant_id=1, credential_id=None)


async def _read(call: pipeline.Call):
    try:
        return await pipeline.read_body(call.request, "json")
    except pipeline.BodyError as error:
        raise Invalid(Violation("body", "validation_error", error.kind))


async def _parse(call: pipeline.Call) -> pipeline.Parsed:
    return pipeline.Parsed(command=call.body, natural_keys=(("ref", str(call.body.get("ref"))),), echo=call.body)


def _issue(call: pipeline.Call, ctx, command) -> Response:
    what = command.get("what")
    if what == "busy":
        error = reject("service_unavailable", "/", "try later")
        error.retry_after = 7
        raise error
    if what == "boom":
        raise RuntimeError("a real fault")
    response = call.responder.success({"ref": command["ref"], "key": ctx.natural_keys[0][1]}, 201)
    return Response(response.status, response.content_type, response.body, replayed=what == "again")


TINY = pipeline.Door(channel="tiny", languages=("en", "ms"), log=logging.getLogger("test.tiny"),
                     www_authenticate="Bearer", responder=lambda call: TinyResponder(call.lang),
                     authenticate=_authenticate, read=_read, parse=_parse, issue=_issue)


@pytest.fixture(scope="module")
def client():
    app = FastAPI()

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        request.state.request_id = "req-1"
        return await call_next(request)

    @app.post("/tiny")
    async def tiny(request: Request):
        return await pipeline.run(TINY, request)

    return TestClient(app, raise_server_exceptions=False)


GOOD = {"authorization": "Bearer good", "accept-language": "ms"}


def test_success_goes_through_every_step(client):
    response = client.post("/tiny", json={"ref": "A1"}, headers=GOOD)
    assert response.status_code == 201
    assert response.json() == {"ok": {"ref": "A1", "key": "tiny:ref:A1"}, "lang": "ms"}
    assert "Idempotent-Replayed" not in response.headers


def test_a_replay_is_marked(client):
    response = client.post("/tiny", json={"ref": "A1", "what": "again"}, headers=GOOD)
    assert response.status_code == 201 and response.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_is_in_the_door_shape_with_retry_after(client):
    response = client.post("/tiny", json={"ref": "A1", "what": "busy"}, headers=GOOD)
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert response.json() == {"ok": False, "code": "service_unavailable", "field": "/"}


def test_unauthorized_carries_the_challenge_before_the_body_is_read(client):
    response = client.post("/tiny", content=b"not json", headers={"content-type": "application/json"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


def test_a_fault_is_a_500_in_the_door_shape(client, caplog):
    with caplog.at_level(logging.ERROR, logger="test.tiny"):
        response = client.post("/tiny", json={"ref": "A1", "what": "boom"}, headers=GOOD)
    assert response.status_code == 500
    assert response.json() == {"ok": False, "code": "server_error", "field": ""}
    assert any("unhandled error on POST /tiny" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("body, kind", [
    (b"{", "json"), (b'{"a": 1, "a": 2}', None), (b'{"a": "\\u0000"}', "json"),
    (b'{"a": "\\ud800"}', None), (b"x" * (pipeline.MAX_BODY_BYTES + 1), "too_large")])
def test_the_strict_reader_refuses(client, body, kind):
    response = client.post("/tiny", content=body, headers={**GOOD, "content-type": "application/json"})
    assert response.status_code == status_of("validation_error")
    if kind is not None:  # a BodyError, worded by the door
        assert response.json()["field"] == "body"
    else:  # a key given twice, a lone surrogate: Invalid naming the field
        assert response.json()["field"] != "body"


def test_the_reader_keeps_exact_decimals():
    assert pipeline.decode_json(b'{"a": 0.10}') == {"a": __import__("decimal").Decimal("0.10")}
    with pytest.raises(pipeline.BodyError) as error:
        pipeline.decode_jsv(b"{a:\x00}")
    assert error.value.kind == "jsv"
