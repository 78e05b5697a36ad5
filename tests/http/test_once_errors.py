"""Issue 9, items 8 and 9 through the native API: the answer is rendered and encoded before the
commit, and text that cannot be stored (a lone UTF-16 surrogate) is refused, naming the field.

Before the fix a lone surrogate in ``metadata`` (valid JSON: ``"\\ud800"``) was written, committed,
and then failed to encode: 500 "nothing was recorded" while a refund had been recorded, and a
retry recorded another."""

from __future__ import annotations

import dataclasses
import json

import pytest

from native_kit import ok, problem, state

BODY = {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}


def post_text(api, text: str, key: str | None = None, path: str = "/v1/refunds"):
    return api.client.post(path, content=text.encode("ascii"),
                           headers={**api.headers(key), "Content-Type": "application/json"})


def with_surrogate(body: dict) -> str:
    """``body`` as JSON with Python's lone surrogates written as ``\\udXXX`` escapes (ASCII)."""
    return json.dumps(body, ensure_ascii=True)


@pytest.mark.parametrize("key", [None, "k-surrogate"], ids=["no key", "key"])
@pytest.mark.parametrize("where, pointer", [
    ({"metadata": {"note": "half an emoji \ud83d"}}, "/metadata/note"),
    ({"metadata": {"\udc00key": "x"}}, "/metadata"),
    ({"reason": "\ud800"}, "/reason"),
    ({"lines": [{"line": 1, "quantity": "1", "description": "a\udfffb"}]}, "/lines/0/description"),
], ids=["metadata value", "metadata key", "reason", "line description"])
def test_a_lone_surrogate_is_refused_naming_the_field_and_nothing_is_recorded(books, key, where, pointer):
    api = books["api"]
    before = state(api)
    for _ in range(2):  # a retry changes nothing either
        response = post_text(api, with_surrogate({**BODY, **where}), key)
        body = problem(response, 422, "validation_error", pointer)
        assert "surrogate" in body["errors"][0]["message"]
    assert state(api) == before
    assert ok(api.get("/v1/refunds"))["items"] == []


def test_a_surrogate_pair_is_one_character_and_is_kept(books):
    api = books["api"]
    response = post_text(api, with_surrogate({**BODY, "metadata": {"note": "\ud83d\ude00"}}))
    assert response.status_code == 201, response.text
    assert response.json()["metadata"] == {"note": "\U0001F600"}
    assert ok(api.get(f"/v1/refunds/{response.json()['id']}"))["metadata"] == {"note": "\U0001F600"}


def test_a_lone_surrogate_in_master_data_is_refused(books):
    api = books["api"]
    response = post_text(api, with_surrogate({"code": "C\ud800", "name": "x"}), path="/v1/customers")
    problem(response, 422, "validation_error", "/code")
    assert api.get("/v1/customers/C1").status_code == 200


def test_an_answer_that_cannot_be_encoded_rolls_the_refund_back(books, monkeypatch):
    """Whatever makes rendering or encoding fail (here: a result holding a lone surrogate that got
    past the readers) fails before the commit, so "nothing was recorded" is true."""
    from salesrefund.service import results

    original = results.result_of

    def broken(row, **kwargs):
        return dataclasses.replace(original(row, **kwargs), reason="\ud800")

    monkeypatch.setattr(results, "result_of", broken)
    api = books["api"]
    before = state(api)
    for key in (None, "k-broken"):
        response = api.post("/v1/refunds", BODY, key=key)
        body = problem(response, 500, "server_error")
        assert "nothing was recorded" in body["detail"]
    monkeypatch.setattr(results, "result_of", original)
    assert state(api) == before
    assert ok(api.get("/v1/refunds"))["items"] == []
    again = api.post("/v1/refunds", BODY, key="k-broken")  # the key was not spent on the failure
    assert again.status_code == 201, again.text


@pytest.mark.parametrize("action", ["post", "void", "edit"])
def test_post_void_and_edit_render_before_their_commit(books, monkeypatch, action):
    """The same rule on the other writing paths: a rendering failure leaves the refund as it was."""
    from salesrefund.service import views

    api = books["api"]
    state_of = {"post": "draft", "void": "posted", "edit": "draft"}[action]
    made = ok(api.post("/v1/refunds", {**BODY, "state": state_of}), 201)
    before = state(api)
    original = views.refund_result

    def broken(store, row):
        return dataclasses.replace(original(store, row), reason="\ud800")

    monkeypatch.setattr(views, "refund_result", broken)
    path = f"/v1/refunds/{made['id']}"
    response = api.patch(path, {"reason": "changed"}) if action == "edit" else api.post(f"{path}/{action}")
    problem(response, 500, "server_error")
    assert "nothing was recorded" in response.json()["detail"]
    monkeypatch.setattr(views, "refund_result", original)
    assert state(api) == before
    assert ok(api.get(path))["state"] == state_of


def test_a_fault_after_the_commit_never_claims_nothing_was_recorded(books, monkeypatch):
    """Should anything fail once the refund is committed (here: turning the answer into HTTP), the
    500 says the request was recorded and how to get its answer, not "nothing was recorded"."""
    from salesrefund.http import native

    api = books["api"]
    original = native.to_http
    calls = []

    def failing(response, headers=None):
        calls.append(response)
        raise RuntimeError("the connection to the client broke")

    monkeypatch.setattr(native, "to_http", failing)
    response = api.post("/v1/refunds", BODY, key="after-commit")
    monkeypatch.setattr(native, "to_http", original)
    body = problem(response, 500, "server_error")
    assert "nothing was recorded" not in body["detail"] and "after the request was recorded" in body["detail"]
    again = api.post("/v1/refunds", BODY, key="after-commit")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert len(ok(api.get("/v1/refunds"))["items"]) == 1
