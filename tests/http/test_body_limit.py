"""Oversized bodies answer 413 problem+json without being read whole, on every path."""

from salesrefund.http.app import MAX_BODY_BYTES


def test_declared_oversized_body_is_refused_before_reading(books):
    api = books["api"]
    body = b'{"invoice": "INV-1", "reason": "' + b"x" * (MAX_BODY_BYTES + 10) + b'", "lines": [{"line": 1}]}'
    response = api.client.post("/v1/refunds", content=body,
                               headers={**api.headers(), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "payload_too_large"
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_streamed_oversized_body_is_refused(books):
    api = books["api"]

    def chunks():
        yield b'{"invoice": "INV-1", "reason": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536
        yield b'", "lines": [{"line": 1}]}'

    response = api.client.post("/v1/refunds", content=chunks(),
                               headers={**api.headers(), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert api.get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_a_body_under_the_limit_is_served(books):
    response = books["api"].post("/v1/refunds/preview", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    assert response.status_code == 200


def test_deep_nesting_is_refused_as_invalid_json_not_a_server_error(books):
    api = books["api"]
    for body in (b"[" * 200_000 + b"]" * 200_000, b'{"invoice": ' * 50_000 + b"1" + b"}" * 50_000):
        response = api.client.post("/v1/refunds", content=body,
                                   headers={**api.headers(), "Content-Type": "application/json"})
        assert response.status_code == 422, response.text[:200]
        assert response.json()["code"] == "validation_error"


def test_strings_with_brackets_do_not_count_as_nesting(books):
    reason = "[" * 100 + '\\"{' * 50
    response = books["api"].post("/v1/refunds/preview", {"invoice": "INV-1", "reason": reason,
                                                          "lines": [{"line": 1, "quantity": "1"}]})
    assert response.status_code == 200, response.text
