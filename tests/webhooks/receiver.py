"""A real webhook receiver on loopback: an HTTP server in a thread that verifies each request's
signature the way the README tells receivers to, and records what it got.

``mode``: ``"ok"`` answers 200; ``"fail"`` answers 500; ``"slow"`` waits ``delay`` seconds before
answering 200; ``"hang"`` holds the request until released. ``stop()`` closes the port (the
receiver is down: connections are refused); ``start()`` opens the same port again.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from salesrefund.service.dispatch import SIGNATURE_HEADER, verify


class Receiver:
    def __init__(self, secret: str | None = None):
        self.secret = secret
        self.mode = "ok"
        self.delay = 0.0
        self.got: list[dict] = []  # every request that reached the handler, in arrival order
        self.accepted: list[dict] = []  # those answered 2xx
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.port = 0
        self.server = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?source=salesrefund"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                record = {"path": self.path, "headers": dict(self.headers), "raw": body, "body": json.loads(body),
                          "verified": receiver.secret is not None and verify(
                              receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)}
                with receiver.lock:
                    receiver.got.append(record)
                receiver.arrived.set()
                mode = receiver.mode
                if mode == "slow":
                    time.sleep(receiver.delay)
                if mode == "hang":
                    receiver.release.wait(30)
                status = 500 if mode == "fail" else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return
                if status == 200 and mode not in ("slow", "hang"):
                    with receiver.lock:
                        receiver.accepted.append(record)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self, records=None) -> list[str]:
        return [r["body"]["id"] for r in (self.accepted if records is None else records)]
