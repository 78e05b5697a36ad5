"""Slow request bodies time out (issue 10, "Security at the edges"): a client that sends its
headers and then stalls or dribbles the body gets 408 (in the door's shape at a door) once the
body timeout has passed since the headers, the connection is closed, and nothing is recorded.
A real server on a real socket, with a one-second timeout."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn

from salesrefund.app import create_app
from salesrefund.service.refunds import Settings

TIMEOUT = 1.0


@pytest.fixture
def server(engine, clock):
    app = create_app(engine, clock=clock, settings=Settings(), body_timeout=TIMEOUT)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.02)
    yield port
    running.should_exit = True
    thread.join(5)


def _send_slowly(port: int, path: str, headers: dict, body: bytes, *, declared: int, pieces: int = 0,
                 every: float = 0.0) -> tuple[float, bytes, bytes]:
    """Send the headers and ``body`` (declaring ``declared`` bytes), then ``pieces`` more bytes one
    at a time every ``every`` s; read until the server closes the connection. (seconds until it
    closed, infinite when it did not within 10 s; the answer; unused)."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    started = time.monotonic()
    conn.sendall(head.encode() + body)
    for _ in range(pieces):
        time.sleep(every)
        try:
            conn.sendall(b" ")
        except OSError:
            break
    received = b""
    closed = False
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            closed = True
            break
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        received += chunk
    conn.close()
    return (time.monotonic() - started) if closed else float("inf"), received, b""


def _parts(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def test_a_stalled_native_body_gets_408_and_the_connection_closes(server, books):
    token = books["tenant"]["token"]
    seconds, raw, _ = _send_slowly(server, "/v1/refunds", {"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"},
                                   b'{"invoice": "INV-1", ', declared=200)
    status, headers, body = _parts(raw)
    assert status == 408, raw[:300]
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == "request_timeout"
    assert headers.get("connection") == "close"
    assert TIMEOUT * 0.9 <= seconds < TIMEOUT + 3  # the server closed the connection after its answer
    assert books["api"].get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_a_dribbled_body_gets_408_though_every_byte_comes_in_time(server, books):
    token = books["tenant"]["token"]
    seconds, raw, _ = _send_slowly(server, "/v1/refunds", {"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"},
                                   b"{", declared=100, pieces=30, every=0.1)
    status, _, body = _parts(raw)
    assert status == 408 and json.loads(body)["code"] == "request_timeout", raw[:300]
    assert seconds < TIMEOUT + 2
    assert books["api"].get("/v1/refunds", invoice="INV-1").json()["items"] == []


def test_a_door_answers_the_timeout_in_its_own_shape(server, make_tenant):
    token = make_tenant()["token"]
    _, raw, _ = _send_slowly(server, "/api/internom/refund/sale", {"Authorization": f"Bearer {token}",
                                                                   "Content-Type": "application/json"},
                             b'{"reference": ', declared=300)
    status, _, body = _parts(raw)
    assert status == 408, raw[:300]
    answer = json.loads(body)
    assert answer["status"] == "error" and answer["errors"][0]["code"] == "request_timeout"

    _, raw, _ = _send_slowly(server, "/api/customer/sale/refund", {"Content-Type": "application/json"},
                             b'{"auth_uid": 1, ', declared=300)
    status, _, body = _parts(raw)
    assert status == 200, raw[:300]  # BeansBooks' clients read only HTTP 200 bodies
    assert json.loads(body)["success"] is False and json.loads(body)["error_code"] == "request_timeout"


def test_a_body_that_arrives_in_time_is_served(server, books):
    token = books["tenant"]["token"]
    body = json.dumps({"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]}).encode()
    conn = socket.create_connection(("127.0.0.1", server), timeout=10)
    conn.sendall((f"POST /v1/refunds/preview HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode())
    time.sleep(TIMEOUT / 2)
    conn.sendall(body)
    raw = b""
    while chunk := conn.recv(65536):
        raw += chunk
    conn.close()
    assert _parts(raw)[0] == 200, raw[:300]
